package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/kpis"
)

//go:embed report.html report.css figures.css
var files embed.FS

// FigureStyles is the CSS of what Figures writes (tiles, chart grid,
// tables) and of the charts; a page that shows Figures serves it in its
// stylesheet. It styles only classes of its own.
var FigureStyles = read("figures.css") + charts.Stylesheet

// Styles is the whole CSS the report file inlines: its page and FigureStyles.
var Styles = template.CSS(read("report.css") + FigureStyles) //nolint:gosec // our own embedded files

func read(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var page = template.Must(template.New("report.html").Funcs(funcs).ParseFS(files, "report.html"))

var funcs = template.FuncMap{
	"pair": func(name string, f kpis.DealFigures) any {
		return struct {
			Name string
			F    kpis.DealFigures
		}{name, f}
	},
	"pct": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(math.Round(*v*1000)/10, 'f', -1, 64) + "%"
	},
	"num": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return charts.Number(*v)
	},
	"str": func(v *string) string {
		if v == nil {
			return "–"
		}
		return *v
	},
}

// Figures renders the view's figures, charts and tables as HTML for a
// page of the caller's (the console's KPI page); it needs Styles (or the
// same classes) in the page's stylesheet.
func Figures(v View) (template.HTML, error) {
	var b strings.Builder
	if err := page.ExecuteTemplate(&b, "figures", v); err != nil {
		return "", fmt.Errorf("report: figures: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // html/template output
}

// Write writes rep as one self-contained HTML file: its figures, charts
// and tables with the CSS inline, no script and no reference to another
// host. program is the program's name ("" shows its id); group is how the
// volume and money charts group days (day, week, month; "" chooses from
// the period's length).
func Write(w io.Writer, rep kpis.Report, program, group string) error {
	data := struct {
		View
		CSS template.CSS
	}{NewView(rep, program, group, ""), Styles}
	if err := page.Execute(w, data); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}
