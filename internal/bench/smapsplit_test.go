package bench

import "testing"

// Each mapping is counted where it belongs: the executable's three by
// permission, its written data pages and the anonymous mapping after it
// (the bss) as data+bss, the anonymous mapping holding the heap address
// as the heap, another one (the runtime's metadata) and the main stack
// apart, and a file map (the store) in the file-backed part.
func TestParseSmapsSplitsByMapping(t *testing.T) {
	const exe = "/tmp/x/calsync"
	smaps := `00400000-00e8c000 r-xp 00000000 fe:00 99 /tmp/x/calsync
Size:              10800 kB
Rss:                8000 kB
Anonymous:             0 kB
00e8c000-01aa7000 r--p 00a8c000 fe:00 99 /tmp/x/calsync
Rss:                9000 kB
Anonymous:             0 kB
01aa7000-01b4d000 rw-p 016a7000 fe:00 99 /tmp/x/calsync
Rss:                 500 kB
Anonymous:           120 kB
01b4d000-03b97000 rw-p 00000000 00:00 0 
Rss:                 300 kB
Anonymous:           300 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Rss:               40000 kB
Anonymous:         40000 kB
7ef000000000-7ef000400000 rw-p 00000000 00:00 0 
Rss:                2200 kB
Anonymous:          2200 kB
7f0000000000-7f0000100000 r--s 00000000 fe:00 7 /var/lib/calsync/store.db
Rss:                  64 kB
Anonymous:             0 kB
7ffd33c54000-7ffd33c75000 rw-p 00000000 00:00 0                          [stack]
Rss:                  20 kB
Anonymous:            20 kB
`
	got := parseSmaps([]byte(smaps), exe, 0xc000123450)
	want := smapsSplit{
		RSS: (8000 + 9000 + 500 + 300 + 40000 + 2200 + 64 + 20) << 10, File: (8000 + 9000 + 380 + 64) << 10, Anon: (120 + 300 + 40000 + 2200 + 20) << 10,
		ExeText: 8000 << 10, ExeRodata: 9000 << 10, ExeData: 380 << 10, DataBSS: (120 + 300) << 10, exeDataAnon: 120 << 10,
		Heap: 40000 << 10, OtherAnon: 2200 << 10, MainStack: 20 << 10,
	}
	if got != want {
		t.Errorf("parseSmaps =\n%+v, want\n%+v", got, want)
	}
}
