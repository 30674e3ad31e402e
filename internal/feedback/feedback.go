// Package feedback is the partners' satisfaction score: the one question
// of the monthly summary email ("How likely are you to recommend our
// partner program to a colleague?", 0 to 10) and its optional comment.
// It validates answers and periods and adds up a program's answers into
// the figures operators read (Net Promoter Score, average, counts). It is
// pure: no storage, no clock of its own (callers pass now).
//
// A comment is the partner's own words: callers keep it in the table and
// show it to operators; it never goes into events, logs or metrics.
package feedback

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Question is the question the score answers.
const Question = "How likely are you to recommend our partner program to a colleague?"

// Score bounds and the longest comment, in characters.
const (
	MinScore   = 0
	MaxScore   = 10
	MaxComment = 1000
	// MaxMonths is the longest period a summary covers, in months.
	MaxMonths = 36
	// monthLayout is how a period is written: "2026-02".
	monthLayout = "2006-01"
)

// ErrInvalid is an answer or a period that is not valid; the wrapped
// message says which and why (safe to show: it never quotes a comment).
var ErrInvalid = errors.New("feedback: invalid")

// Bucket is the group a score falls in.
type Bucket string

// The groups of the Net Promoter Score.
const (
	Detractor Bucket = "detractors" // 0 to 6
	Passive   Bucket = "passives"   // 7 and 8
	Promoter  Bucket = "promoters"  // 9 and 10
)

// BucketOf is the group of a valid score.
func BucketOf(score int) Bucket {
	switch {
	case score >= 9:
		return Promoter
	case score >= 7:
		return Passive
	}
	return Detractor
}

// ValidScore reports whether score is a whole number from 0 to 10.
func ValidScore(score int) bool { return score >= MinScore && score <= MaxScore }

// Answer is one partner's answer for one program and month.
type Answer struct {
	Program string // the program id
	Month   string // the period the summary was about, "2026-02"
	Partner string // the partner's lifelong key (store.Partner.Key)
	Score   int
	Comment string // "" = none
}

// Validate checks a: a score from 0 to 10, a month that has begun at now,
// a program and partner, and a clean comment (CleanComment: a.Comment is
// replaced by its cleaned form).
func (a *Answer) Validate(now time.Time) error {
	switch {
	case a.Program == "" || a.Partner == "":
		return fmt.Errorf("%w: an answer needs a program and a partner", ErrInvalid)
	case !ValidScore(a.Score):
		return fmt.Errorf("%w: the score must be a whole number from 0 to 10", ErrInvalid)
	}
	m, err := ParseMonth(a.Month)
	if err != nil {
		return err
	}
	if m.After(now.UTC()) {
		return fmt.Errorf("%w: month %s has not begun", ErrInvalid, a.Month)
	}
	c, err := CleanComment(a.Comment)
	if err != nil {
		return err
	}
	a.Comment = c
	return nil
}

// CleanComment trims a comment, writes its line breaks as "\n", and
// refuses one longer than MaxComment characters or holding control
// characters other than line breaks and tabs.
func CleanComment(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: the comment is not valid text", ErrInvalid)
	}
	if n := utf8.RuneCountInString(s); n > MaxComment {
		return "", fmt.Errorf("%w: the comment has %d characters, at most %d are kept", ErrInvalid, n, MaxComment)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", fmt.Errorf("%w: the comment holds a control character", ErrInvalid)
		}
	}
	return s, nil
}

// ParseMonth reads a month written "2026-02" (its first day, UTC).
func ParseMonth(s string) (time.Time, error) {
	m, err := time.Parse(monthLayout, s)
	if err != nil || m.Format(monthLayout) != s {
		return time.Time{}, fmt.Errorf("%w: month %q is not written YYYY-MM", ErrInvalid, s)
	}
	return m, nil
}

// Month writes the month of t (UTC): "2026-02".
func Month(t time.Time) string { return t.UTC().Format(monthLayout) }

// Months lists the months from from to to, both included, oldest first.
// Empty to is the month of now; empty from is eleven months before to (a
// year). It refuses from after to and periods longer than MaxMonths.
func Months(from, to string, now time.Time) ([]string, error) {
	if to == "" {
		to = Month(now)
	}
	end, err := ParseMonth(to)
	if err != nil {
		return nil, err
	}
	if from == "" {
		from = Month(end.AddDate(0, -11, 0))
	}
	start, err := ParseMonth(from)
	if err != nil {
		return nil, err
	}
	if start.After(end) {
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrInvalid, from, to)
	}
	var out []string
	for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
		if len(out) == MaxMonths {
			return nil, fmt.Errorf("%w: a period covers at most %d months", ErrInvalid, MaxMonths)
		}
		out = append(out, Month(m))
	}
	return out, nil
}

// Counts are the answers of a program in a month (or a period): how many,
// the sum of their scores, and how many fell in each group. The store
// keeps one per program and month, changed in the same transaction as the
// answers it counts.
type Counts struct {
	Responses  int64 `json:"responses"`
	Sum        int64 `json:"sum"`
	Promoters  int64 `json:"promoters"`
	Passives   int64 `json:"passives"`
	Detractors int64 `json:"detractors"`
}

// Add is c and o together.
func (c Counts) Add(o Counts) Counts {
	return Counts{Responses: c.Responses + o.Responses, Sum: c.Sum + o.Sum,
		Promoters: c.Promoters + o.Promoters, Passives: c.Passives + o.Passives, Detractors: c.Detractors + o.Detractors}
}

// Change is what the counts gain when an answer goes from old to score
// (old nil: a first answer): a first answer adds one response, a
// replaced one moves its score between groups and changes nothing else.
func Change(old *int, score int) Counts {
	d := bucketCount(BucketOf(score), 1)
	d.Sum = int64(score)
	d.Responses = 1
	if old != nil {
		o := bucketCount(BucketOf(*old), -1)
		d = d.Add(o)
		d.Sum -= int64(*old)
		d.Responses = 0
	}
	return d
}

func bucketCount(b Bucket, n int64) Counts {
	switch b {
	case Promoter:
		return Counts{Promoters: n}
	case Passive:
		return Counts{Passives: n}
	}
	return Counts{Detractors: n}
}

// Average is the mean score, to two decimals (nil with no answers).
func (c Counts) Average() *float64 {
	if c.Responses <= 0 {
		return nil
	}
	return round(float64(c.Sum)/float64(c.Responses), 2)
}

// NPS is the Net Promoter Score: the share of promoters minus the share
// of detractors, in points from -100 to 100, to one decimal (nil with no
// answers).
func (c Counts) NPS() *float64 {
	if c.Responses <= 0 {
		return nil
	}
	return round(100*float64(c.Promoters-c.Detractors)/float64(c.Responses), 1)
}

func round(v float64, decimals int) *float64 {
	p := math.Pow(10, float64(decimals))
	r := math.Round(v*p) / p
	return &r
}
