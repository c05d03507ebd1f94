// Package cdp drives a headless Chromium over the Chrome DevTools Protocol
// for browser tests: it launches the browser, opens a page, navigates and
// evaluates JavaScript. It speaks the protocol over a minimal websocket
// client of its own (websocket.go); only what the tests need is here.
package cdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Flags are the command-line flags the browser is started with.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--remote-debugging-port=0",
}

// Browser is a running Chromium process.
type Browser struct {
	cmd   *exec.Cmd
	wsURL string
	conn  *Conn
	done  chan struct{}
}

// Launch starts chromium (the executable path) with a private profile in
// userDataDir and connects to its DevTools endpoint. Close stops it.
func Launch(ctx context.Context, chromium, userDataDir string) (*Browser, error) {
	args := append(append([]string(nil), Flags...), "--user-data-dir="+userDataDir, "about:blank")
	cmd := exec.Command(chromium, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("cdp: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cdp: starting %s: %w", chromium, err)
	}
	b := &Browser{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	var logTail []string
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "DevTools listening on "); i >= 0 && !sent {
				found <- strings.TrimSpace(line[i+len("DevTools listening on "):])
				sent = true
			}
			logMu.Lock()
			logTail = append(logTail, line)
			if len(logTail) > 20 {
				logTail = logTail[1:]
			}
			logMu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	select {
	case b.wsURL = <-found:
	case <-b.done:
		logMu.Lock()
		defer logMu.Unlock()
		return nil, fmt.Errorf("cdp: chromium exited before DevTools started: %s", strings.Join(logTail, "\n"))
	case <-ctx.Done():
		b.kill()
		return nil, fmt.Errorf("cdp: waiting for DevTools: %w", ctx.Err())
	}
	conn, err := Dial(b.wsURL)
	if err != nil {
		b.kill()
		return nil, err
	}
	b.conn = conn
	return b, nil
}

func (b *Browser) kill() {
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Kill()
	}
	<-b.done
}

// Close stops the browser and waits for it to exit.
func (b *Browser) Close() error {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = b.conn.Call(ctx, "Browser.close", nil, nil)
		cancel()
		b.conn.Close()
	}
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		b.kill()
	}
	return nil
}

// NewPage opens a new tab and connects to it.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	var res struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.Call(ctx, "Target.createTarget", map[string]any{"url": "about:blank"}, &res); err != nil {
		return nil, err
	}
	conn, err := Dial("ws://" + hostOf(b.wsURL) + "/devtools/page/" + res.TargetID)
	if err != nil {
		return nil, err
	}
	p := &Page{conn: conn}
	if err := conn.Call(ctx, "Runtime.enable", nil, nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Call(ctx, "Page.enable", nil, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return p, nil
}

// Conn is one DevTools protocol session over a websocket. Safe for
// concurrent use.
type Conn struct {
	ws *wsConn

	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan response
	err     error
	// console collects console messages and uncaught exceptions.
	console []string
	closed  chan struct{}
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Dial connects to a DevTools websocket URL.
func Dial(wsURL string) (*Conn, error) {
	ws, err := dialWebSocket(wsURL)
	if err != nil {
		return nil, err
	}
	c := &Conn{ws: ws, waiting: map[int64]chan response{}, closed: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *Conn) readLoop() {
	defer close(c.closed)
	for {
		data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			for id, ch := range c.waiting {
				close(ch)
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		var msg struct {
			ID     int64           `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			response
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			continue
		}
		if msg.ID == 0 {
			c.recordEvent(msg.Method, msg.Params)
			continue
		}
		c.mu.Lock()
		ch := c.waiting[msg.ID]
		delete(c.waiting, msg.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- msg.response
		}
	}
}

func (c *Conn) recordEvent(method string, params json.RawMessage) {
	var line string
	switch method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(params, &p)
		parts := []string{"console." + p.Type + ":"}
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(params, &p)
		line = "exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description
	default:
		return
	}
	c.mu.Lock()
	c.console = append(c.console, line)
	c.mu.Unlock()
}

// Console returns the console messages and exceptions seen so far.
func (c *Conn) Console() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.console...)
}

// Call sends a command and decodes its result into result (if non-nil).
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("cdp: %s: connection closed: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	ch := make(chan response, 1)
	c.waiting[id] = ch
	c.mu.Unlock()

	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("cdp: %s: %w", method, err)
	}
	if err := c.ws.WriteText(data); err != nil {
		return err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return fmt.Errorf("cdp: %s: connection closed", method)
		}
		if resp.Error != nil {
			return fmt.Errorf("cdp: %s: %s (%d)", method, resp.Error.Message, resp.Error.Code)
		}
		if result != nil {
			if err := json.Unmarshal(resp.Result, result); err != nil {
				return fmt.Errorf("cdp: %s: decoding result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return fmt.Errorf("cdp: %s: %w", method, ctx.Err())
	}
}

// Close closes the session.
func (c *Conn) Close() error {
	err := c.ws.Close()
	<-c.closed
	return err
}

// Page is one browser tab.
type Page struct {
	conn *Conn
}

// Navigate loads url in the page.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.conn.Call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("cdp: navigating to %s: %s", url, res.ErrorText)
	}
	return nil
}

// ErrJSException is wrapped by Evaluate when the expression throws.
var ErrJSException = errors.New("cdp: JavaScript exception")

// Evaluate runs a JavaScript expression in the page (awaiting a returned
// promise) and decodes its JSON-serialisable value into out (if non-nil).
func (p *Page) Evaluate(ctx context.Context, expression string, out any) error {
	var res struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": expression, "returnByValue": true, "awaitPromise": true}
	if err := p.conn.Call(ctx, "Runtime.evaluate", params, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("%w: %s %s", ErrJSException, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out == nil || res.Result.Type == "undefined" || len(res.Result.Value) == 0 {
		return nil
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		return fmt.Errorf("cdp: decoding the value of %q: %w", expression, err)
	}
	return nil
}

// Console returns the page's console messages and uncaught exceptions.
func (p *Page) Console() []string { return p.conn.Console() }

// Close closes the page's session (the tab stays until the browser closes).
func (p *Page) Close() error { return p.conn.Close() }

// Screenshot returns a PNG of the page's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data []byte `json:"data"` // base64 in JSON, decoded by encoding/json
	}
	if err := p.conn.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, err
	}
	return res.Data, nil
}

// SetViewport sets the page's viewport size in CSS pixels.
func (p *Page) SetViewport(ctx context.Context, width, height int) error {
	return p.conn.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
	}, nil)
}

// WaitFor evaluates expression (which must yield a string) every interval
// until it equals want or ctx ends; it returns the last value seen and, on
// timeout, an error naming it.
func (p *Page) WaitFor(ctx context.Context, expression, want string, interval time.Duration) (string, error) {
	var got string
	var lastErr error
	for {
		lastErr = p.Evaluate(ctx, expression, &got)
		if lastErr == nil && got == want {
			return got, nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if lastErr != nil {
				return got, fmt.Errorf("cdp: waiting for %q: %w (last error: %v)", want, ctx.Err(), lastErr)
			}
			return got, fmt.Errorf("cdp: waiting for %q, last value %q: %w", want, got, ctx.Err())
		case <-t.C:
		}
	}
}
