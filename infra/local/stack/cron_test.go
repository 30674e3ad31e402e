package stack

import (
	"testing"
	"time"
)

func TestCronNextFiresWhenEventBridgeWould(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		expr, after, want string
	}{
		{"cron(0 6 1 * ? *)", "2026-12-01 05:59", "2026-12-01 06:00"},
		{"cron(0 6 1 * ? *)", "2026-12-01 06:00", "2027-01-01 06:00"},
		{"cron(15 10 ? * MON-FRI *)", "2026-12-04 10:15", "2026-12-07 10:15"}, // Friday -> Monday
		{"cron(0/15 * * * ? *)", "2026-12-01 10:07", "2026-12-01 10:15"},
		{"cron(0 0 29 FEB ? *)", "2026-03-01 00:00", "2028-02-29 00:00"},
		{"cron(30 8 ? * 1 2027)", "2026-12-01 00:00", "2027-01-03 08:30"}, // first Sunday of 2027
		{"cron(0 12 ? * 2,4 *)", "2026-12-01 13:00", "2026-12-02 12:00"},  // Tuesday 1st -> Wednesday (2=MON, 4=WED)
	} {
		c, err := ParseCron(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := c.Next(at(tc.after)); !got.Equal(at(tc.want)) {
			t.Errorf("%s after %s = %s, want %s", tc.expr, tc.after, got.Format("2006-01-02 15:04 Mon"), tc.want)
		}
	}
}

func TestCronRefusesWhatItCannotEvaluate(t *testing.T) {
	for _, expr := range []string{
		"cron(0 6 L * ? *)", "cron(0 6 ? * 6#3 *)", "cron(0 6 15W * ? *)",
		"cron(0 6 1 * *)", "cron(0 6 1 * 2 *)", "cron(61 6 1 * ? *)", "cron(0 6 1 FOO ? *)", "rate(1 minute)",
	} {
		if _, err := ParseCron(expr); err == nil {
			t.Errorf("%s parsed", expr)
		}
	}
}
