package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/calsync/calsync/internal/testenv"
)

// browserPage is one tab of a headless Chromium driven by chromedp, with the
// page's console collected so that a failing wait can show what the
// dashboard's script complained about.
type browserPage struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowserPage starts Debian's headless Chromium with a fresh profile and
// a window of width×height CSS pixels. The browser is stopped when the test
// ends. Without chromium the test fails under CI=true and skips locally.
func newBrowserPage(t *testing.T, width, height int) *browserPage {
	t.Helper()
	chromium := testenv.LookPath(t, "chromium", "apt-get install -y chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// The flags keep the browser quiet and self-contained: no sandbox (tests
	// run as root in CI), no GPU, and none of the update, sync or first-run
	// traffic a desktop profile would start.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	p := &browserPage{t: t, ctx: tabCtx}
	messages := chromedp.Console(tabCtx) // starts the browser and subscribes before any page loads
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return p
}

// emulateLocale makes the browser use a locale and a time zone, as a
// user's desktop settings would. Call it before navigate.
func (p *browserPage) emulateLocale(locale, zone string) {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale}); err != nil {
		p.t.Fatalf("locale %s: %v", locale, err)
	}
	if _, err := chromedp.Call(p.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		p.t.Fatalf("time zone %s: %v", zone, err)
	}
}

// navigate loads url and waits for the load event.
func (p *browserPage) navigate(url string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(url)); err != nil {
		p.t.Fatalf("loading %s: %v", url, err)
	}
}

// waitJS waits until the expression evaluates to want (compared as strings
// in the page), failing after 30 seconds with the last value and the
// console.
func (p *browserPage) waitJS(what, expr, want string) {
	p.t.Helper()
	quoted, _ := json.Marshal(want)
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool]("String("+expr+") === "+string(quoted),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		got, evalErr := chromedp.Run(p.ctx, chromedp.Evaluate[any]("String("+expr+")"))
		p.t.Fatalf("waiting for %s: got %v (%v), want %q: %v\nconsole:\n%s", what, got, evalErr, want, err, strings.Join(p.consoleLines(), "\n"))
	}
}

// waitMatch waits until the text of the expression matches the JavaScript
// regular expression pattern, failing after 30 seconds with the last text
// and the console.
func (p *browserPage) waitMatch(what, expr, pattern string) {
	p.t.Helper()
	re, _ := json.Marshal(pattern)
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool]("new RegExp("+string(re)+").test(String("+expr+"))",
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		got, evalErr := chromedp.Run(p.ctx, chromedp.Evaluate[any]("String("+expr+")"))
		p.t.Fatalf("waiting for %s: got %q (%v), want a match of %s: %v\nconsole:\n%s", what, got, evalErr, pattern, err, strings.Join(p.consoleLines(), "\n"))
	}
}

// mustJS runs a script in the page.
func (p *browserPage) mustJS(script string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](script)); err != nil {
		p.t.Fatalf("evaluating %s: %v", script, err)
	}
}

// evalJS evaluates an expression and decodes its JSON value into out.
func (p *browserPage) evalJS(expr string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
	if err == nil {
		err = json.Unmarshal([]byte(raw), out)
	}
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
}

// consoleLines returns the console messages, uncaught exceptions and
// browser log entries so far.
func (p *browserPage) consoleLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := make([]string, len(p.console))
	for i, m := range p.console {
		lines[i] = m.String()
	}
	return lines
}

// checkConsole reports every uncaught exception and console.error of the
// dashboard's script. The browser's own log (a 401 the dashboard answers
// with its login form, the favicon it does not have) is not the script's
// error: those entries carry no console arguments.
func (p *browserPage) checkConsole() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.console {
		if m.IsException() || (m.Type == chromedp.ConsoleError && len(m.Args) > 0) {
			p.t.Errorf("browser console: %s", m)
		}
	}
}

// screenshot captures the viewport as PNG. With $CALSYNC_SCREENSHOTS set it
// also saves it there as name.png, for looking at the dashboard.
func (p *browserPage) screenshot(name string) []byte {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if dir := os.Getenv("CALSYNC_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			p.t.Errorf("screenshot %s: %v", name, err)
		}
	}
	return png
}
