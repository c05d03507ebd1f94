// Package procgroup runs helper processes (a throwaway PostgreSQL, the
// simulator, calsync instances of a test cluster) so that they can be
// signalled as a whole and do not outlive the process that started them:
// on Unix each gets its own process group (a terminal's Ctrl+C reaches
// only the parent, which stops them in order, and a signal to the group
// reaches the helper's own children), and on Linux the kernel kills it
// when its parent dies (a test binary killed by its timeout leaves no
// servers behind).
package procgroup
