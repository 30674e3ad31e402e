package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program/programtest"
)

func TestExperimentsListShowsEachVariantAndTheVerdict(t *testing.T) {
	st := programtest.ExperimentStore()
	var out bytes.Buffer
	if err := listExperiments(context.Background(), &kpis.Service{Store: st}, []string{"B2B"}, &out, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PROGRAM", "VERDICT", "b2b", "double", "running", "21.8% (16.8–28.0%)", "control",
		"1.8x (1.3x–2.5x)", "variant B converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := listExperiments(context.Background(), &kpis.Service{Store: st}, []string{"b2b"}, &out, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Programs []struct {
			Program     string            `json:"program"`
			Experiments []kpis.Experiment `json:"experiments"`
		} `json:"programs"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || len(js.Programs) != 1 || js.Programs[0].Experiments[0].Variants[1].Customers != 81 {
		t.Fatalf("json %s: %v", out.String(), err)
	}
	err := listExperiments(context.Background(), &kpis.Service{Store: st}, []string{"nope"}, &out, false, time.Now())
	if exitCode(err) != exitNotFound {
		t.Errorf("unknown program: %v (exit %d)", err, exitCode(err))
	}
}

func TestExperimentsEndKeepsTheVariant(t *testing.T) {
	st := programtest.ExperimentStore()
	var out bytes.Buffer
	for _, c := range []struct {
		id, keep string
		version  int
		code     int
	}{{"b2b", "Z", 0, exitUsage}, {"nope", "B", 0, exitNotFound}, {"b2b", "B", 4, exitConflict}} {
		if err := endExperiment(context.Background(), st, c.id, c.keep, c.version, &out, false, time.Now()); exitCode(err) != c.code {
			t.Errorf("%s keep %s at v%d: %v (exit %d), want exit %d", c.id, c.keep, c.version, err, exitCode(err), c.code)
		}
	}
	if st.Count("b2b") != 1 {
		t.Fatal("a refused end published")
	}
	if err := endExperiment(context.Background(), st, "b2b", "B", 1, &out, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "program b2b: experiment double ended; version 2 keeps variant B's tiers") {
		t.Errorf("out: %s", out.String())
	}
	if cur, _ := st.CurrentProgram(context.Background(), "b2b"); cur.Version != 2 || cur.Experiment != nil || cur.Tiers[0].MultiplierBP != 20000 {
		t.Fatalf("version 2: %+v %+v", cur.Experiment, cur.Tiers)
	}
	if err := endExperiment(context.Background(), st, "b2b", "B", 0, &out, false, time.Now()); exitCode(err) != exitConflict {
		t.Errorf("ending twice: %v", err)
	}
}

func TestExperimentsUsage(t *testing.T) {
	for _, args := range [][]string{{"experiments", "end", "b2b"}, {"experiments", "end", "--keep", "B"}, {"experiments", "list"}, {"experiments"}} {
		a := testApp(t)
		var errOut bytes.Buffer
		a.errOut = &errOut
		if got := execute(context.Background(), a, args); got != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, got, exitUsage, errOut.String())
		}
	}
}
