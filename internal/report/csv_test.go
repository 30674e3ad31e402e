package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
)

// csvRows writes rep as CSV and returns its rows by section|key|metric,
// failing on a row out of shape or a cell a spreadsheet would run.
func csvRows(t *testing.T, rep kpis.Report) map[string]string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		if len(r) != len(CSVHeader) || r[0] != rep.Program {
			t.Fatalf("row %v", r)
		}
		for _, c := range r {
			if _, err := strconv.ParseFloat(c, 64); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) && err != nil {
				t.Errorf("cell %q of row %v would run as a formula", c, r)
			}
		}
		k := r[3] + "|" + r[4] + "|" + r[5]
		if _, dup := got[k]; dup {
			t.Errorf("two rows %s", k)
		}
		got[k] = r[6]
	}
	return got
}

// The CSV carries the lift table's figures: both sides' sample sizes, win
// rates, time to close, average deal and amount bands in numeric order.
func TestCSVHasLiftRows(t *testing.T) {
	rep := sample()
	rep.Lift = &kpis.Lift{
		Referred: kpis.DealFigures{Opened: 31, Deals: 12, Won: 9, WinRate: f(0.75), MedianDaysToClose: f(35), AvgDeal: s("12500.00")},
		Other: kpis.DealFigures{Opened: 140, Deals: 7, Won: 2, WinRate: f(0.2857), MedianDaysToClose: f(63), AvgDeal: s("8000.00"),
			AmountBands: map[string]int64{"10000": 1, "1000": 1}},
	}
	got := csvRows(t, rep)
	for k, want := range map[string]string{
		"lift|referred|opened": "31", "lift|referred|deals": "12", "lift|referred|won": "9", "lift|referred|win_rate": "0.75",
		"lift|referred|median_days_to_close": "35", "lift|referred|avg_deal": "12500.00", "lift|referred|enough_data": "true",
		"lift|other|opened": "140", "lift|other|deals": "7", "lift|other|win_rate": "0.2857", "lift|other|enough_data": "false",
		"lift|other|avg_deal": "8000.00", "lift|other|band:1000": "1", "lift|other|band:10000": "1",
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %q (present %v), want %q", k, v, ok, want)
		}
	}
	var b bytes.Buffer
	_ = WriteCSV(&b, rep)
	if i, j := strings.Index(b.String(), "band:1000,"), strings.Index(b.String(), "band:10000,"); i < 0 || j < i {
		t.Error("amount bands are not in numeric order")
	}
	rep.Lift = nil
	for k := range csvRows(t, rep) {
		if strings.HasPrefix(k, "lift|") {
			t.Errorf("a report without lift writes %s", k)
		}
	}
}

// The CSV carries each experiment: its status and verdict, and per
// variant the counts, each stage's share with its interval, the ratio to
// the control and the cost per customer; the control has no ratio.
func TestCSVHasExperimentRows(t *testing.T) {
	got := csvRows(t, withExperiment(t))
	for k, want := range map[string]string{
		"experiment|double|status": "running", "experiment|double|control": "A", "experiment|double|assign": "partner",
		"experiment|double|verdict":    "variant <B> converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals",
		"variant|double:<B>|weight":    "1",
		"variant|double:<B>|referrals": "206", "variant|double:<B>|customers": "81",
		"variant|double:<B>|stage:accepted:count": "200", "variant|double:<B>|stage:accepted:rate": "0.9709",
		"variant|double:<B>|stage:<script>won:low": "0.329", "variant|double:<B>|stage:<script>won:high": "0.4613",
		"variant|double:<B>|conversion_rate": "0.3932", "variant|double:<B>|cost_per_customer": "200.00",
		"variant|double:<B>|revenue": "81000.00", "variant|double:<B>|reward_paid": "16200.00",
		"variant|double:<B>|vs_control": "1.8", "variant|double:A|vs_control": "", "variant|double:A|verdict": "",
		"experiment|older|status": "ended", "experiment|older|verdict": "not enough data yet",
		"variant|older:B|referrals": "2", "variant|older:B|conversion_rate": "0", "variant|older:B|cost_per_customer": "",
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %q (present %v), want %q", k, v, ok, want)
		}
	}
	for _, k := range []string{"variant|double:<B>|vs_control_low", "variant|double:<B>|vs_control_high"} {
		if v, err := strconv.ParseFloat(got[k], 64); err != nil || v <= 1 {
			t.Errorf("%s = %q, want a bound above 1", k, got[k])
		}
	}
	if _, ok := got["variant|older:B|weight"]; ok {
		t.Error("an ended experiment's variant has a weight row")
	}
}
