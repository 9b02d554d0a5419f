package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	grey   = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
	green  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
)

// plotSVG draws three panels side by side: whole-process latency against
// the floor and /bin/true, throughput against the floor by callers, and
// credd's RSS and start-up against the number of profiles.
func plotSVG(r results) ([]byte, error) {
	var panels []*plot.Plot
	for _, make := range []func(results) (*plot.Plot, error){latencyPlot, throughputPlot, scalePlot} {
		p, err := make(r)
		if err != nil {
			return nil, err
		}
		if p != nil {
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("nothing to plot")
	}
	c := vgsvg.New(vg.Length(len(panels))*4*vg.Inch, 3.2*vg.Inch)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func latencyPlot(r results) (*plot.Plot, error) {
	const lat = "BenchmarkProcessLatency"
	var names []string
	var vals plotter.Values
	for _, row := range latencyRows {
		if v, ok := r.get(lat, row.unit); ok {
			names = append(names, row.short)
			vals = append(vals, v/1000)
		}
	}
	if len(vals) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "credhelper process, one call"
	p.Y.Label.Text = "median time (ms)"
	p.Y.Min = 0
	// Bars narrow as rows are added, with a gap between each two.
	bars, err := plotter.NewBarChart(vals, min(vg.Points(22), vg.Points(150)/vg.Length(len(vals))))
	if err != nil {
		return nil, err
	}
	bars.Color, bars.LineStyle.Width = blue, 0
	p.Add(bars, plotter.NewGrid())
	p.NominalX(names...)
	// Slanted, so that the names (ten at most) fit under a panel a third of
	// the width.
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	return p, nil
}

func throughputPlot(r results) (*plot.Plot, error) {
	var proc, floor, bare plotter.Values
	var names []string
	for _, c := range []int{1, 8, 32} {
		name := fmt.Sprintf("BenchmarkThroughput/callers=%d", c)
		pv, ok1 := r.get(name, "process-calls/s")
		fv, ok2 := r.get(name, "emptygo-calls/s")
		if ok1 && ok2 {
			proc, floor, names = append(proc, pv), append(floor, fv), append(names, fmt.Sprintf("%d at once", c))
			if bv, ok := r.get(name, "bareclient-calls/s"); ok {
				bare = append(bare, bv)
			}
		}
	}
	if len(proc) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "calls per second"
	p.Y.Label.Text = "whole-process calls/s"
	p.Y.Min = 0
	w := vg.Points(12)
	type barSeries struct {
		label string
		vals  plotter.Values
		color color.Color
	}
	series := []barSeries{{"empty Go program", floor, grey}, {"credhelper process", proc, blue}}
	if len(bare) == len(proc) { // measured beside them in every row
		series = append(series, barSeries{"bare Go client of credd", bare, green})
	}
	for i, s := range series {
		bars, err := plotter.NewBarChart(s.vals, w)
		if err != nil {
			return nil, err
		}
		bars.Color, bars.LineStyle.Width = s.color, 0
		bars.Offset = w * vg.Length(2*i-len(series)+1) / 2 // the group centred on its tick
		p.Add(bars)
		p.Legend.Add(s.label, bars)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	// Room for the legend, up to a round 500 that the axis labels whole.
	p.Y.Max = math.Ceil(1.45*max(maxOf(proc), maxOf(floor), maxOf(bare))/500) * 500
	p.NominalX(names...)
	return p, nil
}

func scalePlot(r results) (*plot.Plot, error) {
	sizes := r.sizes()
	if len(sizes) == 0 {
		return nil, nil
	}
	var rss, start plotter.XYs
	for _, n := range sizes {
		name := fmt.Sprintf("BenchmarkScale/profiles=%d", n)
		if v, ok := r.get(name, "rss-MiB"); ok {
			rss = append(rss, plotter.XY{X: float64(n), Y: v})
		}
		if v, ok := r.get(name, "start-to-answer-ms"); ok {
			start = append(start, plotter.XY{X: float64(n), Y: v})
		}
	}
	p := plot.New()
	p.Title.Text = "credd by number of profiles"
	p.X.Label.Text = "role profiles held"
	p.Y.Label.Text = "MiB · ms"
	p.Y.Min = 0
	if len(sizes) > 1 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for _, s := range []struct {
		label string
		xys   plotter.XYs
		c     color.Color
	}{{"RSS (MiB)", rss, blue}, {"restart → first answer (ms)", start, orange}} {
		if len(s.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = s.c, s.c
		p.Add(l, pts)
		p.Legend.Add(s.label, l, pts)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	top := 0.0
	for _, xy := range append(rss, start...) {
		top = max(top, xy.Y)
	}
	p.Y.Max = 1.35 * top // room for the legend
	return p, nil
}

func maxOf(v plotter.Values) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
