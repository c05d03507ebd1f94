package engine

import "errors"

// describer is an error that says in one sentence what went wrong, for
// people: without package prefixes and without its code, which status
// documents carry separately (the ews errors implement it).
type describer interface{ Describe() string }

// Describe is the text of err for a mailbox's or connection's last error:
// the innermost description the Exchange client gave, not the chain of
// prefixes every layer added ("engine: exchange X: ewsexchange: …: ews: …").
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var d describer
	if errors.As(err, &d) {
		return d.Describe()
	}
	var xe *ExchangeError
	if errors.As(err, &xe) {
		if xe.Err == nil {
			return "Exchange answered " + xe.Code
		}
		// The cause without "engine: exchange CODE:", which repeats the code.
		return xe.Err.Error()
	}
	return err.Error()
}
