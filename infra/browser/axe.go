package browser

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// Violation is one axe-core rule a page breaks, with the elements at fault.
type Violation struct {
	ID          string `json:"id"`
	Impact      string `json:"impact"` // minor, moderate, serious or critical
	Help        string `json:"help"`
	HelpURL     string `json:"helpUrl"`
	Description string `json:"description"`
	Nodes       []struct {
		Target         []string `json:"target"`
		HTML           string   `json:"html"`
		FailureSummary string   `json:"failureSummary"`
	} `json:"nodes"`
}

// Blocking reports whether the violation fails a page: serious or
// critical.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// String is the rule, its impact and help, and each element at fault.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s %s", strings.Join(n.Target, " "), n.HTML)
		if n.FailureSummary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
		}
	}
	return b.String()
}

// axeRun runs axe-core (injected first when the page has not got it) on
// the whole document and returns its violations as JSON.
const axeRun = `(async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return JSON.stringify(r.violations);
})()`

// Axe checks the page in the tab with axe-core's default rules (WCAG 2 A
// and AA, and best practices) and returns every violation. In a NoScript
// tab scripts are on while axe-core runs (it needs timers); the page's own
// scripts, skipped when it loaded, stay skipped.
func (tab *Tab) Axe() []Violation {
	tab.t.Helper()
	if tab.noScript {
		if err := scriptsOff(tab.ctx, false); err != nil {
			tab.t.Fatalf("browser: %v", err)
		}
		defer func() {
			if err := scriptsOff(tab.ctx, true); err != nil {
				tab.t.Errorf("browser: %v", err)
			}
		}()
	}
	loaded := Run(tab, chromedp.EvaluateAsDevTools[bool](`typeof axe !== 'undefined'`))
	if !loaded {
		Run(tab, chromedp.EvaluateAsDevTools[chromedp.Void](tab.b.axe+"\n;true"))
	}
	raw := Run(tab, chromedp.EvaluateAsDevTools[string](axeRun, chromedp.EvalAwaitPromise))
	var out []Violation
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		tab.t.Fatalf("browser: axe-core answer: %v", err)
	}
	return out
}

// AssertAccessible fails the test on every serious or critical axe-core
// violation of the page in the tab, listing each with the elements at
// fault; lesser ones are logged.
func (tab *Tab) AssertAccessible() {
	tab.t.Helper()
	where := tab.URL()
	for _, v := range tab.Axe() {
		if v.Blocking() {
			tab.t.Errorf("axe (%s, %s): %s", tab.Name, where, v)
		} else {
			tab.t.Logf("axe (%s, %s), not blocking: %s", tab.Name, where, v)
		}
	}
}
