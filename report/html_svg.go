package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Hand-built SVG charts for the HTML report. Every number is written with
// a fixed precision and every text through escaping, so the output is
// deterministic and safe to inline.

const (
	svgFont      = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"`
	svgCharWidth = 7.0 // generous width of a 12px character
)

var svgPalette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// px formats a coordinate.
func svgPx(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func svgEsc(s string) string { return template.HTMLEscapeString(s) }

// svgTruncate shortens s to at most n characters with an ellipsis in the
// middle, keeping both ends: configuration labels differ at their ends
// ("…_demos-0_temperature-0.6").
func svgTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	head := (n - 1) * 2 / 5
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// svgShortLabels drops the labels' longest common prefix that ends at a
// separator ('_', '-', '/', ' ', ':') when what is left is still distinct
// and non-empty, then shortens each to at most n characters.
func svgShortLabels(labels []string, n int) []string {
	out := append([]string(nil), labels...)
	if len(labels) > 1 {
		p := labels[0]
		for _, l := range labels[1:] {
			for !strings.HasPrefix(l, p) {
				p = p[:len(p)-1]
			}
		}
		if i := strings.LastIndexAny(p, "_-/ :"); i >= 0 {
			p = p[:i+1]
			seen := map[string]bool{}
			ok := true
			for _, l := range labels {
				t := l[len(p):]
				ok = ok && t != "" && !seen[t]
				seen[t] = true
			}
			if ok {
				for i, l := range labels {
					out[i] = l[len(p):]
				}
			}
		}
	}
	for i := range out {
		out[i] = svgTruncate(out[i], n)
	}
	return out
}

// svgScale maps a data interval onto a pixel interval.
type svgScale struct{ d0, d1, p0, p1 float64 }

func (s svgScale) at(v float64) float64 {
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// niceTicks returns about n round tick values covering [lo, hi] and the
// widened interval they span.
func niceTicks(lo, hi float64, n int) (ticks []float64, a, b float64) {
	if !(hi > lo) {
		d := math.Max(math.Abs(lo)*0.1, 1e-9)
		if lo == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	a = math.Floor(lo/step) * step
	b = math.Ceil(hi/step) * step
	for i := 0; ; i++ {
		t := a + float64(i)*step
		if t > b+step/2 {
			break
		}
		if math.Abs(t) < step*1e-9 {
			t = 0
		}
		ticks = append(ticks, t)
	}
	return ticks, a, b
}

// tickLabel formats a tick with the decimals its spacing needs.
func tickLabel(v float64, ticks []float64) string {
	step := 1.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	a := math.Max(math.Abs(ticks[0]), math.Abs(ticks[len(ticks)-1]))
	if a >= 1e5 || (a > 0 && a < 1e-3) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	if q := step * math.Pow(10, float64(dec)); math.Abs(q-math.Round(q)) > 1e-6 {
		dec++
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// extent returns the range of the finite values and interval ends.
func svgExtent(es []Estimate) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, e := range es {
		for _, v := range []float64{e.Value, e.CI95[0], e.CI95[1]} {
			if finiteNum(v) {
				lo, hi, ok = math.Min(lo, v), math.Max(hi, v), true
			}
		}
	}
	return lo, hi, ok
}

// svgOpen starts an accessible SVG: role img, labelled by its title and
// described by desc.
func svgOpen(b *strings.Builder, id string, w, h float64, title, desc string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="%s-t %s-d" %s font-size="12">`,
		svgPx(w), svgPx(h), svgPx(w), svgPx(h), id, id, svgFont)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, svgEsc(title), id, svgEsc(desc))
}

// barRow is one bar of a bar chart.
type barRow struct {
	Label string
	Est   Estimate
}

// barChart draws horizontal bars from zero to each value with the 95%
// interval as a whisker, one row per configuration, the value printed on
// the right.
func barChart(id, title, desc string, rows []barRow, color string, f numFmt) template.HTML {
	const (
		width  = 440.0
		rowH   = 24.0
		top    = 10.0
		bottom = 30.0
		right  = 64.0
	)
	labelChars := 4
	for _, r := range rows {
		labelChars = max(labelChars, utf8.RuneCountInString(r.Label))
	}
	labelChars = min(labelChars, 22)
	left := float64(labelChars)*svgCharWidth + 12
	height := top + rowH*float64(len(rows)) + bottom
	es := make([]Estimate, len(rows))
	for i, r := range rows {
		es[i] = r.Est
	}
	lo, hi, ok := svgExtent(es)
	if !ok {
		lo, hi = 0, 1
	}
	ticks, a, bnd := niceTicks(math.Min(lo, 0), math.Max(hi, 0), 4)
	x := svgScale{a, bnd, left, width - right}
	var b strings.Builder
	svgOpen(&b, id, width, height, title, desc)
	plotBottom := top + rowH*float64(len(rows))
	// Grid and axis.
	for _, t := range ticks {
		xp := x.at(t)
		stroke := "#e3e3e3"
		if t == 0 {
			stroke = "#555"
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, svgPx(xp), svgPx(top-4), svgPx(xp), svgPx(plotBottom), stroke)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#444" font-size="11">%s</text>`, svgPx(xp), svgPx(plotBottom+16), svgEsc(tickLabel(t, ticks)))
	}
	short := make([]string, len(rows))
	for i, r := range rows {
		short[i] = r.Label
	}
	short = svgShortLabels(short, 22)
	for i, r := range rows {
		cy := top + rowH*(float64(i)+0.5)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="#222">%s<title>%s</title></text>`,
			svgPx(left-8), svgPx(cy), svgEsc(short[i]), svgEsc(r.Label))
		v := r.Est.Value
		if !finiteNum(v) {
			fmt.Fprintf(&b, `<text x="%s" y="%s" dominant-baseline="middle" fill="#777">not measured</text>`, svgPx(x.at(0)+4), svgPx(cy))
			continue
		}
		x0, x1 := x.at(0), x.at(v)
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.75"><title>%s: %s</title></rect>`,
			svgPx(math.Min(x0, x1)), svgPx(cy-rowH*0.32), svgPx(math.Max(math.Abs(x1-x0), 0.5)), svgPx(rowH*0.64), color, svgEsc(r.Label), svgEsc(estimateText(r.Est, f)))
		if lo, hi := r.Est.CI95[0], r.Est.CI95[1]; finiteNum(lo) && finiteNum(hi) {
			fmt.Fprintf(&b, `<path d="M%s %sV%sM%s %sH%sM%s %sV%s" stroke="#222" stroke-width="1.3" fill="none"/>`,
				svgPx(x.at(lo)), svgPx(cy-5), svgPx(cy+5), svgPx(x.at(lo)), svgPx(cy), svgPx(x.at(hi)), svgPx(x.at(hi)), svgPx(cy-5), svgPx(cy+5))
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" dominant-baseline="middle" fill="#222" font-variant-numeric="tabular-nums">%s</text>`, svgPx(width-right+6), svgPx(cy), svgEsc(f(v)))
	}
	b.WriteString(`</svg>`)
	return svgLines(b.String())
}

// svgLines puts every complete element of a hand-built chart on a line of
// its own, so that the page's source reads and diffs well. It breaks only
// after elements that cannot hold text.
func svgLines(s string) template.HTML {
	r := strings.NewReplacer("/>", "/>\n", "</text>", "</text>\n", "</rect>", "</rect>\n", "</circle>", "</circle>\n", "</desc>", "</desc>\n")
	return template.HTML(r.Replace(s))
}

// scatterPoint is one configuration in a scatter plot.
type scatterPoint struct {
	Label string
	X, Y  Estimate
}

// scatterChart draws the gain (y) against a predictor (x), one labelled
// point per configuration with the 95% intervals of both as whiskers.
func scatterChart(id, title, desc, xlabel, ylabel string, pts []scatterPoint, fx, fy numFmt) template.HTML {
	const (
		width  = 440.0
		height = 330.0
		left   = 62.0
		right  = 18.0
		top    = 14.0
		bottom = 48.0
	)
	xs, ys := make([]Estimate, len(pts)), make([]Estimate, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = p.X, p.Y
	}
	xlo, xhi, ok := svgExtent(xs)
	if !ok {
		xlo, xhi = 0, 1
	}
	ylo, yhi, ok := svgExtent(ys)
	if !ok {
		ylo, yhi = 0, 1
	}
	// Leave room for the labels right of the points.
	xt, xa, xb := niceTicks(xlo, xhi+(xhi-xlo)*0.12, 5)
	yt, ya, yb := niceTicks(ylo-(yhi-ylo)*0.04, yhi+(yhi-ylo)*0.04, 5)
	x := svgScale{xa, xb, left, width - right}
	y := svgScale{ya, yb, height - bottom, top}
	var b strings.Builder
	svgOpen(&b, id, width, height, title, desc)
	for _, t := range xt {
		xp := x.at(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e3e3e3"/>`, svgPx(xp), svgPx(top), svgPx(xp), svgPx(height-bottom))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#444" font-size="11">%s</text>`, svgPx(xp), svgPx(height-bottom+15), svgEsc(tickLabel(t, xt)))
	}
	for _, t := range yt {
		yp := y.at(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, svgPx(left), svgPx(yp), svgPx(width-right), svgPx(yp), map[bool]string{true: "#999", false: "#e3e3e3"}[t == 0])
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="#444" font-size="11">%s</text>`, svgPx(left-6), svgPx(yp), svgEsc(tickLabel(t, yt)))
	}
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#888"/>`, svgPx(left), svgPx(top), svgPx(width-right-left), svgPx(height-bottom-top))
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#222">%s</text>`, svgPx((left+width-right)/2), svgPx(height-10), svgEsc(xlabel))
	fmt.Fprintf(&b, `<text transform="translate(14 %s) rotate(-90)" text-anchor="middle" fill="#222">%s</text>`, svgPx((top+height-bottom)/2), svgEsc(ylabel))
	// The points are obstacles for the labels.
	var placed []svgBox
	for _, p := range pts {
		if finiteNum(p.X.Value) && finiteNum(p.Y.Value) {
			cx, cy := x.at(p.X.Value), y.at(p.Y.Value)
			placed = append(placed, svgBox{cx - 5, cy - 5, cx + 5, cy + 5})
		}
	}
	labels := make([]string, len(pts))
	for i, p := range pts {
		labels[i] = p.Label
	}
	labels = svgShortLabels(labels, 18)
	for i, p := range pts {
		if !finiteNum(p.X.Value) || !finiteNum(p.Y.Value) {
			continue
		}
		cx, cy := x.at(p.X.Value), y.at(p.Y.Value)
		color := svgPalette[i%len(svgPalette)]
		if lo, hi := p.X.CI95[0], p.X.CI95[1]; finiteNum(lo) && finiteNum(hi) {
			fmt.Fprintf(&b, `<path d="M%s %sH%s" stroke="%s" stroke-opacity="0.6" stroke-width="1.3"/>`, svgPx(x.at(lo)), svgPx(cy), svgPx(x.at(hi)), color)
		}
		if lo, hi := p.Y.CI95[0], p.Y.CI95[1]; finiteNum(lo) && finiteNum(hi) {
			fmt.Fprintf(&b, `<path d="M%s %sV%s" stroke="%s" stroke-opacity="0.6" stroke-width="1.3"/>`, svgPx(cx), svgPx(y.at(lo)), svgPx(y.at(hi)), color)
		}
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4.5" fill="%s" stroke="#fff" stroke-width="1"><title>%s: %s = %s, gain = %s</title></circle>`,
			svgPx(cx), svgPx(cy), color, svgEsc(p.Label), svgEsc(xlabel), svgEsc(estimateText(p.X, fx)), svgEsc(estimateText(p.Y, fy)))
		lx, ly, anchor := placeLabel(&placed, cx, cy, labels[i], width-right)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="%s" fill="#222" font-size="11">%s</text>`, svgPx(lx), svgPx(ly), anchor, svgEsc(labels[i]))
	}
	b.WriteString(`</svg>`)
	return svgLines(b.String())
}

// svgBox is the bounding box of something drawn.
type svgBox struct{ x0, y0, x1, y1 float64 }

func (a svgBox) overlaps(b svgBox) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// placeLabel finds a place for the label of the point (cx, cy) that
// overlaps no placed box: right of the point (left of it near the right
// edge), then above and below at growing distances, then the other side.
// It records the label's box and returns its baseline and anchor.
func placeLabel(placed *[]svgBox, cx, cy float64, label string, rightEdge float64) (x, y float64, anchor string) {
	w := float64(utf8.RuneCountInString(label))*5.9 + 2
	sides := []string{"start", "end"}
	if cx+7+w > rightEdge {
		sides = []string{"end", "start"}
	}
	box := func(side string, dy float64) (float64, float64, svgBox) {
		bx, by := cx+7, cy+dy
		b := svgBox{bx, by - 10, bx + w, by + 2}
		if side == "end" {
			bx = cx - 7
			b = svgBox{bx - w, by - 10, bx, by + 2}
		}
		return bx, by, b
	}
	for _, side := range sides {
		for _, dy := range []float64{-6, 12, -18, 24, -30, 36} {
			bx, by, b := box(side, dy)
			free := true
			for _, o := range *placed {
				free = free && !b.overlaps(o)
			}
			if free {
				*placed = append(*placed, b)
				return bx, by, side
			}
		}
	}
	bx, by, b := box(sides[0], -6)
	*placed = append(*placed, b)
	return bx, by, sides[0]
}

// estimateText formats a value and its interval: "0.812 [0.701, 0.902]".
func estimateText(e Estimate, f numFmt) string {
	if !finiteNum(e.Value) {
		return "–"
	}
	if !finiteNum(e.CI95[0]) || !finiteNum(e.CI95[1]) {
		return f(e.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", f(e.Value), f(e.CI95[0]), f(e.CI95[1]))
}

// numFmt formats the numbers of one quantity.
type numFmt func(float64) string

// formatFor returns the format of a quantity's values and intervals: the
// same number of decimals for all, enough for three significant digits of
// the largest magnitude and, up to three more (at most six decimals), for
// distinct values to print distinctly; exponent notation for magnitudes
// from 1e5 up or below 1e-4.
func formatFor(es ...Estimate) numFmt {
	m := 0.0
	var values []float64
	for _, e := range es {
		if finiteNum(e.Value) {
			values = append(values, e.Value)
		}
		for _, v := range []float64{e.Value, e.CI95[0], e.CI95[1]} {
			if finiteNum(v) {
				m = math.Max(m, math.Abs(v))
			}
		}
	}
	if m != 0 && (m >= 1e5 || m < 1e-4) {
		return func(v float64) string {
			if !finiteNum(v) {
				return "–"
			}
			return strconv.FormatFloat(v, 'g', 4, 64)
		}
	}
	dec := 3
	if m != 0 {
		dec = min(max(2-int(math.Floor(math.Log10(m))), 0), 6)
	}
	distinct := func(dec int) bool {
		seen := map[string]float64{}
		for _, v := range values {
			s := strconv.FormatFloat(v, 'f', dec, 64)
			if w, ok := seen[s]; ok && w != v {
				return false
			}
			seen[s] = v
		}
		return true
	}
	for top := min(dec+3, 6); dec < top && !distinct(dec); dec++ {
	}
	return func(v float64) string {
		if !finiteNum(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', dec, 64)
	}
}

// inlineSVG prepares an SVG document (as gonum/plot's vgsvg writes it) for
// inlining into HTML: it drops the XML prolog, checks that the document
// neither runs script nor refers to anything outside itself, and labels
// it for assistive technology with id and title.
func inlineSVG(doc, id, title string) (template.HTML, error) {
	start := strings.Index(doc, "<svg")
	if start < 0 {
		return "", errors.New("report: figure is not an SVG document")
	}
	doc = strings.TrimSpace(doc[start:])
	if err := checkSVG(doc); err != nil {
		return "", err
	}
	end := strings.IndexByte(doc, '>')
	open := doc[:end]
	selfClosing := strings.HasSuffix(open, "/")
	if selfClosing {
		open = open[:len(open)-1]
	}
	var b strings.Builder
	b.WriteString(open)
	fmt.Fprintf(&b, ` role="img" aria-labelledby="%s-t">`, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, id, svgEsc(title))
	if selfClosing {
		b.WriteString("</svg>")
	} else {
		b.WriteString(doc[end+1:])
	}
	return template.HTML(b.String()), nil
}

// checkSVG rejects an SVG that could run script or load anything: script
// and foreign elements, event-handler attributes, and links other than to
// fragments of the document itself or to data: images.
func checkSVG(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = false
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("report: figure: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local != "svg" {
				return fmt.Errorf("report: figure: root element is <%s>, want <svg>", t.Name.Local)
			}
			depth++
			switch strings.ToLower(t.Name.Local) {
			case "script", "foreignobject", "iframe", "object", "embed", "use":
				return fmt.Errorf("report: figure: <%s> elements are not allowed", t.Name.Local)
			}
			for _, a := range t.Attr {
				name, val := strings.ToLower(a.Name.Local), strings.TrimSpace(a.Value)
				if strings.HasPrefix(name, "on") {
					return fmt.Errorf("report: figure: event attribute %s is not allowed", a.Name.Local)
				}
				if (name == "href" || name == "src") && !strings.HasPrefix(val, "#") && !strings.HasPrefix(val, "data:image/") {
					return fmt.Errorf("report: figure: link %q leaves the document", svgTruncate(val, 60))
				}
				if name == "style" && strings.Contains(strings.ToLower(val), "url(") && !strings.Contains(val, "url(#") {
					return errors.New("report: figure: style refers to an external url()")
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if strings.Contains(strings.ToLower(doc), "@import") {
		return errors.New("report: figure: @import is not allowed")
	}
	return nil
}
