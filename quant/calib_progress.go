package quant

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress reports calibration progress: on a terminal, a bar redrawn in
// place at most every redrawEvery; elsewhere, one summary line at the end.
type progress struct {
	w     io.Writer // nil: report nothing
	tty   bool
	total int // samples expected; < 0 when unknown
	now   func() time.Time
	start time.Time
	drawn time.Time // last redraw
	open  bool      // a bar is on the terminal's current line
}

const (
	redrawEvery = 100 * time.Millisecond
	barWidth    = 30
)

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, tty: isTerminal(w), total: total, now: time.Now}
	p.start = p.now()
	return p
}

// isTerminal reports whether w is a character device (a terminal, or
// /dev/null, where a bar does no harm).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update records that done samples have run.
func (p *progress) update(done int) {
	if p.w == nil || !p.tty {
		return
	}
	if t := p.now(); t.Sub(p.drawn) >= redrawEvery || done == p.total {
		p.drawn = t
		p.draw(done)
	}
}

// draw redraws the bar on the current line.
func (p *progress) draw(done int) {
	line := "calibrating "
	if p.total > 0 {
		fill := min(barWidth, barWidth*done/p.total)
		line += fmt.Sprintf("[%s%s] %d/%d samples", strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), done, p.total)
	} else {
		line += fmt.Sprintf("%d samples", done)
	}
	line += fmt.Sprintf("  %.1f samples/s", p.rate(done))
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.open = true
}

// rate is the throughput so far.
func (p *progress) rate(done int) float64 {
	if s := p.now().Sub(p.start).Seconds(); s > 0 {
		return float64(done) / s
	}
	return 0
}

// finish ends the report: the bar's last state and a newline on a terminal,
// the summary line elsewhere.
func (p *progress) finish(done, values int) {
	switch {
	case p.w == nil:
	case p.tty:
		p.draw(done)
		p.close()
	default:
		fmt.Fprintf(p.w, "calibrated %d values on %d samples in %.2fs (%.1f samples/s)\n",
			values, done, p.now().Sub(p.start).Seconds(), p.rate(done))
	}
}

// close ends the bar's line, if one is drawn, so that what is printed next
// (an error, after a failed run) starts on a line of its own.
func (p *progress) close() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
