package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/report"
	"github.com/referflow/referflow/internal/store"
)

func init() {
	Register(Section{Prefix: "/experiments", Nav: "Experiments", Serve: (*Handler).experimentsPage})
}

// experimentsData is what templates/experiments.html shows.
type experimentsData struct {
	Running []runningExperiment
	Done    string // what the last action did
}

// runningExperiment is one program's running experiment: its figures
// (the report's "experiment" section) and a form per variant.
type runningExperiment struct {
	Program, Name, Experiment string
	Version                   int
	Figures                   template.HTML
	Variants                  []string
}

// experimentsPage answers GET /console/experiments (the running
// experiments of the console's programs, and of ?program=) and POST
// /console/experiments/end.
func (h *Handler) experimentsPage(r *Request) apigw.Response {
	switch {
	case r.Path == "/experiments/end" && r.Method == http.MethodPost:
		return h.endExperiment(r)
	case r.Path != "/experiments":
		return h.NotFound(r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return h.ErrorPage(r, http.StatusMethodNotAllowed, "This page cannot do that", "Use the buttons of the experiments page.")
	}
	d := experimentsData{}
	if p, v := r.Query("ended"), r.Query("version"); p != "" && v != "" {
		d.Done = "The experiment of " + p + " has ended: version " + v + " keeps variant " + r.Query("kept") +
			"'s rule for new referrals; referrals assigned before keep their variant's rewards."
	}
	ids := slices.Clone(h.ProgramIDs)
	if p := strings.ToLower(r.Query("program")); p != "" && !slices.Contains(ids, p) {
		ids = append(ids, p)
	}
	for _, id := range ids {
		run, ok, err := h.runningExperiment(r, id)
		if err != nil {
			r.Log.Error("read experiment failed", "program", id, "error", err)
			return h.Unavailable(r)
		}
		if ok {
			d.Running = append(d.Running, run)
		}
	}
	return h.Render(r, http.StatusOK, "experiments", "Experiments", d)
}

// runningExperiment reads program id's current version and, when it runs
// an experiment, its figures (the KPI counters' EXP# items: one item per
// variant, whatever the period read).
func (h *Handler) runningExperiment(r *Request, id string) (runningExperiment, bool, error) {
	p, err := h.Programs.CurrentProgram(r.Ctx, id)
	if isNotFound(err) || (err == nil && p.Experiment == nil) {
		return runningExperiment{}, false, nil
	}
	if err != nil {
		return runningExperiment{}, false, err
	}
	run := runningExperiment{Program: p.ID, Name: p.Name, Experiment: p.Experiment.ID, Version: p.Version,
		Variants: p.Experiment.VariantNames()}
	today := h.Now().UTC().Truncate(24 * time.Hour)
	rep, err := h.KPIs.Report(r.Ctx, id, kpis.Period{Kind: kpis.PeriodDay, From: today, To: today})
	if err != nil {
		return runningExperiment{}, false, err
	}
	for _, e := range rep.Experiments {
		if e.ID == run.Experiment && e.Status == kpis.ExperimentRunning {
			if run.Figures, err = report.ExperimentFigures(e, "run-"+p.ID+"-"); err != nil {
				return runningExperiment{}, false, err
			}
		}
	}
	return run, true, nil
}

// endExperiment ends a program's experiment keeping the posted variant:
// the same operation as POST /admin/programs/{program}/experiment/end
// (program.EndExperiment), audited with the operator's reason.
func (h *Handler) endExperiment(r *Request) apigw.Response {
	id, keep := strings.ToLower(r.Value("program")), r.Value("keep")
	version, verr := strconv.Atoi(r.Value("version"))
	why, ok := reason(r)
	if id == "" || keep == "" || verr != nil || version < 1 || !ok {
		return h.ErrorPage(r, http.StatusBadRequest, "Ending an experiment needs a reason",
			"Go back, write why you keep this variant (at most 1,000 characters) and press its button again.")
	}
	targets := []string{"program", id, "variant", keep}
	next, ended, err := program.EndExperiment(r.Ctx, h.Programs, id, keep, version, h.Now())
	switch {
	case isNotFound(err):
		return h.NotFound(r)
	case errors.Is(err, program.ErrNoExperiment):
		return h.refused(r, "experiment.end", "The program's current version runs no experiment: it was ended already.", targets...)
	case errors.Is(err, program.ErrUnknownVariant):
		return h.ErrorPage(r, http.StatusBadRequest, "No such variant", "The experiment has no variant "+keep+". Use the buttons of the experiments page.")
	case errors.Is(err, program.ErrVersionMoved), errors.Is(err, store.ErrConflict):
		return h.refused(r, "experiment.end", "Someone published another version of the program meanwhile: look at the experiment again before you end it.", targets...)
	case err != nil:
		r.Log.Error("end experiment failed", "program", id, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, "experiment.end", why, "ok", "program", id, "experiment", ended.ID, "variant", keep, "version", strconv.Itoa(next.Version))
	q := url.Values{"ended": {id}, "kept": {keep}, "version": {strconv.Itoa(next.Version)}}
	return SeeOther("/console/experiments?" + q.Encode())
}
