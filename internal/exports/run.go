package exports

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Source is what an export reads (the store): index pages, each at most
// limit items, continued by the cursor it returns ("" after the last).
type Source interface {
	// EventsOn reads the events of type t that happened on day
	// (YYYY-MM-DD), oldest first; limit bounds the events read (before
	// keeping those of type t).
	EventsOn(ctx context.Context, day string, t events.Type, limit int, cursor string) ([]events.Event, string, error)
	// LedgerPage reads the ledger entries of period (YYYY-MM).
	LedgerPage(ctx context.Context, period string, limit int, cursor string) ([]rewards.Entry, string, error)
	ReferralsByID(ctx context.Context, ids []string) (map[string]*referral.Referral, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
}

// Budget bounds what one Run does.
type Budget struct {
	Pages int           // index pages read, at most
	Items int           // items per page
	Bytes int           // stop once the chunk has this many bytes
	Time  time.Duration // stop after this long (0: no limit)
}

// DefaultBudget keeps a chunk well below a DynamoDB item (400 KB) and a
// request well below a second or two.
var DefaultBudget = Budget{Pages: 25, Items: 100, Bytes: 150 << 10, Time: 2 * time.Second}

// Run reads the next chunk of job within budget: the CSV lines it gave
// (no header) and how many, and the job moved on (Cursor, StepsDone,
// Rows; Done after the last). now is the clock (time.Now in production).
func Run(ctx context.Context, src Source, job Job, b Budget, now func() time.Time) (Job, []byte, int, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	units := job.units()
	start, n := now(), 0
	for pages := 0; !job.Done && pages < b.Pages && buf.Len() < b.Bytes; pages++ {
		if b.Time > 0 && pages > 0 && now().Sub(start) > b.Time {
			break
		}
		unit, cursor := job.position(units)
		rows, next, err := page(ctx, src, job, unit, cursor, b.Items)
		if err != nil {
			return job, nil, 0, fmt.Errorf("exports: %s %s: %w", job.Kind, unit, err)
		}
		for _, r := range rows {
			w.Write(r)
		}
		w.Flush()
		n += len(rows)
		job.advance(units, unit, next)
	}
	if err := w.Error(); err != nil {
		return job, nil, 0, err
	}
	job.Rows += n
	return job, buf.Bytes(), n, nil
}

// position is the unit the job reads next and the index cursor within it.
func (j Job) position(units []string) (string, string) {
	if j.Cursor == "" {
		return units[j.StepsDone], ""
	}
	unit, cursor, _ := strings.Cut(j.Cursor, "|")
	return unit, cursor
}

// advance records that unit was read up to next ("": to its end).
func (j *Job) advance(units []string, unit, next string) {
	if next != "" {
		j.Cursor = unit + "|" + next
		return
	}
	j.Cursor = ""
	j.StepsDone++
	if j.StepsDone >= len(units) {
		j.Done = true
	}
}

// page reads one index page of unit and turns it into rows.
func page(ctx context.Context, src Source, j Job, unit, cursor string, limit int) ([][]string, string, error) {
	switch j.Kind {
	case Ledger:
		entries, next, err := src.LedgerPage(ctx, unit, limit, cursor)
		var rows [][]string
		for _, e := range entries {
			if j.within(e.CreatedAt) && j.program(e.ProgramID) {
				rows = append(rows, LedgerRow(e))
			}
		}
		return rows, next, err
	case Rewards:
		return rewardRows(ctx, src, j, unit, cursor, limit)
	}
	return referralRows(ctx, src, j, unit, cursor, limit)
}

func (j Job) within(t time.Time) bool {
	d := t.UTC().Format(time.DateOnly)
	return d >= j.From && d <= j.To
}

func (j Job) program(id string) bool { return j.Program == "" || j.Program == id }

// referralRows are the referrals received on day (their referral.received
// events), read in one batch.
func referralRows(ctx context.Context, src Source, j Job, day, cursor string, limit int) ([][]string, string, error) {
	evs, next, err := src.EventsOn(ctx, day, events.ReferralReceived, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	var ids []string
	for _, ev := range evs {
		if j.program(ev.ProgramID) {
			ids = append(ids, ev.ReferralID)
		}
	}
	if len(ids) == 0 {
		return nil, next, nil
	}
	found, err := src.ReferralsByID(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	var rows [][]string
	for _, id := range ids {
		if r := found[id]; r != nil {
			rows = append(rows, ReferralRow(r))
		}
	}
	return rows, next, nil
}

// rewardRows are the rewards created on day (their reward.created events).
func rewardRows(ctx context.Context, src Source, j Job, day, cursor string, limit int) ([][]string, string, error) {
	evs, next, err := src.EventsOn(ctx, day, events.RewardCreated, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	var rows [][]string
	for _, ev := range evs {
		if !j.program(ev.ProgramID) {
			continue
		}
		rw, err := src.Reward(ctx, ev.ReferralID, ev.Get("milestone"), ev.Get("party"))
		if err != nil && !errors.Is(err, referral.ErrNotFound) {
			return nil, "", err
		}
		if rw != nil {
			rows = append(rows, RewardRow(rw))
		}
	}
	return rows, next, nil
}

// Store keeps an export's chunks and progress (the store).
type Store interface {
	Source
	// SaveExportChunk stores the job's chunk number j.Chunks (when it
	// grew from chunks) and its progress, only if the export still has
	// chunks chunks (else an error: another request ran it meanwhile).
	SaveExportChunk(ctx context.Context, j Job, chunks int, csv []byte, rows int) error
}

// Step runs the next chunk of job within budget and saves it with the
// job's progress: the job as saved. A chunk is saved only when it has
// rows; the progress always.
func Step(ctx context.Context, st Store, job Job, b Budget, now func() time.Time) (Job, error) {
	prev := job.Chunks
	next, csv, rows, err := Run(ctx, st, job, b, now)
	if err != nil {
		return job, err
	}
	if rows > 0 {
		next.Chunks++
	}
	if err := st.SaveExportChunk(ctx, next, prev, csv, rows); err != nil {
		return job, err
	}
	return next, nil
}

// PartChunks is how many chunks one download part holds (a few MB at
// most: a function's answer is limited to 6 MB).
const PartChunks = 20

// Parts is how many download parts the finished export has (at least one:
// an export without rows is its header).
func (j Job) Parts() int { return max(1, (j.Chunks+PartChunks-1)/PartChunks) }

// PartRange is the chunks (1-based, included) of part p (1-based).
func (j Job) PartRange(p int) (first, last int) {
	return (p-1)*PartChunks + 1, min(p*PartChunks, max(j.Chunks, 1))
}
