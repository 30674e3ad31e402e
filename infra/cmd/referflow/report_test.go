package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

type fakeKPIReader struct{ per kpis.Period }

func (f *fakeKPIReader) Report(_ context.Context, id string, per kpis.Period) (kpis.Report, error) {
	f.per = per
	if id != "b2b" {
		return kpis.Report{}, referral.ErrNotFound
	}
	return kpis.Report{Program: id, From: per.From.Format(time.DateOnly), To: per.To.Format(time.DateOnly),
		Referrals: kpis.Referrals{Received: 9}, Customers: 2, Revenue: kpis.Amount{Amount: "100.00", Currency: "EUR"}}, nil
}

type fakePrograms struct{}

func (fakePrograms) CurrentProgram(context.Context, string) (*program.Program, error) {
	return &program.Program{ID: "b2b", Name: "Partners <2026>"}, nil
}

func TestReportWritesTheHTMLAndCSVFiles(t *testing.T) {
	dir := t.TempDir()
	f := reportFlags{program: "b2b", from: "2026-01-01", to: "2026-01-31", html: filepath.Join(dir, "r.html"), csv: filepath.Join(dir, "r.csv")}
	per, err := f.check(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := &fakeKPIReader{}
	if err := writeReport(context.Background(), r, fakePrograms{}, f, per, &out); err != nil {
		t.Fatal(err)
	}
	if r.per.From.Format(time.DateOnly) != "2026-01-01" || r.per.To.Format(time.DateOnly) != "2026-01-31" {
		t.Errorf("period read %+v", r.per)
	}
	html, _ := os.ReadFile(f.html)
	csv, _ := os.ReadFile(f.csv)
	if !strings.Contains(string(html), "Partners &lt;2026&gt;: referral program KPIs") || strings.Contains(string(html), "https://") {
		t.Errorf("html file: %.300s", html)
	}
	if !strings.Contains(string(csv), "b2b,2026-01-01,2026-01-31,summary,,received,9") {
		t.Errorf("csv file: %s", csv)
	}
	if n := strings.Count(out.String(), "wrote "); n != 2 || !strings.Contains(out.String(), "9 referrals received, 2 customers") {
		t.Errorf("out: %s", out.String())
	}
	err = writeReport(context.Background(), r, fakePrograms{}, reportFlags{program: "nope", html: f.html}, per, &out)
	if exitCode(err) != exitNotFound {
		t.Errorf("unknown program: %v (exit %d)", err, exitCode(err))
	}
}

func TestReportRefusesBadUsageBeforeReadingAnything(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report", "-from", "2026-01-01", "-to", "2026-01-31", "-o", "x.html"}, "-program is required"},
		{[]string{"report", "-program", "b2b", "-from", "2026-01-01", "-to", "2026-01-31"}, "-o FILE.html or -csv FILE.csv is required"},
		{[]string{"report", "-program", "b2b", "-from", "2026-02-01", "-to", "2026-01-31", "-o", "x.html"}, "-to: must not be before from"},
		{[]string{"report", "--program", "b2b", "--from", "2026-01-xx", "--to", "2026-01-31", "-o", "x.html"}, "-from: must be a date"},
		{[]string{"report", "-program", "b2b", "-o", "x.html", "extra"}, "takes no arguments"},
		{[]string{"report", "-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		a := newApp(&bytes.Buffer{}, &errOut, func(string) string { return "" })
		if code := execute(context.Background(), a, tt.args); code != exitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, %s", tt.args, code, errOut.String())
		}
	}
	var out bytes.Buffer
	a := newApp(&out, &bytes.Buffer{}, func(string) string { return "" })
	if code := execute(context.Background(), a, []string{"report", "-h"}); code != 0 || !strings.Contains(out.String(), "self-contained HTML file") {
		t.Errorf("help: %d %s", code, out.String())
	}
}
