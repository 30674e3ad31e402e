package feedback

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func TestScoresFallInTheirGroups(t *testing.T) {
	want := map[int]Bucket{0: Detractor, 3: Detractor, 6: Detractor, 7: Passive, 8: Passive, 9: Promoter, 10: Promoter}
	for score, b := range want {
		if got := BucketOf(score); got != b {
			t.Errorf("score %d: %s, want %s", score, got, b)
		}
	}
	for _, s := range []int{-1, 11, 100} {
		if ValidScore(s) {
			t.Errorf("score %d accepted", s)
		}
	}
}

func TestAnswerValidation(t *testing.T) {
	long := strings.Repeat("é", MaxComment)
	cases := []struct {
		name    string
		a       Answer
		comment string // the cleaned comment
		err     string // "" = valid
	}{
		{"a plain answer", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 9}, "", ""},
		{"the month in progress", Answer{Program: "p1", Month: "2026-03", Partner: "ANN1", Score: 0}, "", ""},
		{"a comment is trimmed and its line breaks unified", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 5, Comment: "  slow payouts\r\nbut nice  "}, "slow payouts\nbut nice", ""},
		{"1,000 characters are kept", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 5, Comment: long}, long, ""},
		{"1,001 are not", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 5, Comment: long + "x"}, "", "at most 1000"},
		{"a control character", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 5, Comment: "a\x00b"}, "", "control character"},
		{"a score above 10", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 11}, "", "0 to 10"},
		{"a negative score", Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: -1}, "", "0 to 10"},
		{"a month that has not begun", Answer{Program: "p1", Month: "2026-04", Partner: "ANN1", Score: 8}, "", "has not begun"},
		{"a month written otherwise", Answer{Program: "p1", Month: "2026-2", Partner: "ANN1", Score: 8}, "", "YYYY-MM"},
		{"no partner", Answer{Program: "p1", Month: "2026-02", Score: 8}, "", "a program and a partner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.a
			err := a.Validate(now)
			if c.err == "" {
				if err != nil || a.Comment != c.comment {
					t.Fatalf("err %v, comment %q", err, a.Comment)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
		})
	}
}

func TestMonthsOfAPeriod(t *testing.T) {
	cases := []struct {
		name, from, to string
		want           []string
		err            string
	}{
		{"both given", "2025-11", "2026-02", []string{"2025-11", "2025-12", "2026-01", "2026-02"}, ""},
		{"one month", "2026-01", "2026-01", []string{"2026-01"}, ""},
		{"defaults: the year up to the month of now", "", "", nil, ""},
		{"from after to", "2026-02", "2026-01", nil, "after"},
		{"too long", "2020-01", "2026-01", nil, "at most 36"},
		{"not a month", "2026-13", "", nil, "YYYY-MM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Months(c.from, c.to, now)
			if c.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if len(got) != 12 || got[0] != "2025-04" || got[11] != "2026-03" {
					t.Fatalf("default period %v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("%v, want %v", got, c.want)
			}
		})
	}
}

func TestChangeMovesAReplacedScoreBetweenGroups(t *testing.T) {
	ptr := func(i int) *int { return &i }
	cases := []struct {
		name  string
		old   *int
		score int
		want  Counts
	}{
		{"a first promoter", nil, 10, Counts{Responses: 1, Sum: 10, Promoters: 1}},
		{"a first detractor", nil, 0, Counts{Responses: 1, Sum: 0, Detractors: 1}},
		{"detractor to promoter", ptr(3), 9, Counts{Sum: 6, Promoters: 1, Detractors: -1}},
		{"promoter to passive", ptr(10), 7, Counts{Sum: -3, Promoters: -1, Passives: 1}},
		{"within a group", ptr(9), 10, Counts{Sum: 1}},
		{"the same score again", ptr(6), 6, Counts{}},
	}
	for _, c := range cases {
		if got := Change(c.old, c.score); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestNPSAndAverage(t *testing.T) {
	cases := []struct {
		name     string
		c        Counts
		avg, nps float64
	}{
		{"all promoters", Counts{Responses: 2, Sum: 19, Promoters: 2}, 9.5, 100},
		{"all detractors", Counts{Responses: 3, Sum: 3, Detractors: 3}, 1, -100},
		{"a mix", Counts{Responses: 3, Sum: 9 + 7 + 2, Promoters: 1, Passives: 1, Detractors: 1}, 6, 0},
		{"rounded", Counts{Responses: 3, Sum: 10 + 10 + 8, Promoters: 2, Passives: 1}, 9.33, 66.7},
	}
	for _, c := range cases {
		a, n := c.c.Average(), c.c.NPS()
		if a == nil || n == nil || *a != c.avg || *n != c.nps {
			t.Errorf("%s: average %v nps %v, want %v %v", c.name, deref(a), deref(n), c.avg, c.nps)
		}
	}
	if (Counts{}).Average() != nil || (Counts{}).NPS() != nil {
		t.Error("no answers must give no average and no score")
	}
	sum := Counts{Responses: 1, Sum: 9, Promoters: 1}.Add(Counts{Responses: 1, Sum: 0, Detractors: 1})
	if sum != (Counts{Responses: 2, Sum: 9, Promoters: 1, Detractors: 1}) {
		t.Errorf("add: %+v", sum)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
