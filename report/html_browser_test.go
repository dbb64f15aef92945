package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumBinary finds a Chromium or Chrome binary: $GGMI_CHROMIUM first,
// then the usual names on $PATH.
func chromiumBinary() (string, bool) {
	if p := os.Getenv("GGMI_CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// runChromium runs headless Chromium with args on the page and returns
// its standard output.
func runChromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
		"--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--window-size=1280,2400"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// The page of a report with a real GMM lab run is rendered by headless
// Chromium: the rendered DOM has every figure as an SVG and every table,
// and the screenshot is a full page of content. The screenshot is kept in
// the test's temporary directory and copied to /tmp/report-screenshot.png
// for inspection, the page to /tmp/report-screenshot.html. Install Chromium with `apt-get install -y chromium`
// (Debian) or point $GGMI_CHROMIUM at a binary.
func TestWriteHTMLInChromium(t *testing.T) {
	bin, ok := chromiumBinary()
	if !ok {
		t.Skip("no Chromium binary found (install the Debian package chromium, or set GGMI_CHROMIUM); skipping the browser test")
	}
	if testing.Short() {
		t.Skip("the browser test is slow; skipped with -short")
	}
	r := htmlFixture(t)
	res, world := smallRun(t)
	labDir := t.TempDir()
	s, _, err := GMMLab(labDir, res, world, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.GMM, err = GMMSectionOf(s, labDir); err != nil {
		t.Fatal(err)
	}
	if n := len(r.GMM.Figures); n != 5 { // mc and hist × two directions, and the world
		t.Fatalf("%d GMM figures, want 5", n)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, figures := checkSelfContained(t, b.String())

	dom := string(runChromium(t, bin, page, "--dump-dom"))
	if got := strings.Count(dom, "<figure"); got != figures {
		t.Errorf("rendered DOM has %d figures, want %d", got, figures)
	}
	if got := strings.Count(dom, "<svg"); got != figures {
		t.Errorf("rendered DOM has %d <svg>, want %d", got, figures)
	}
	if got, want := strings.Count(dom, "<table"), strings.Count(b.String(), "<table"); got != want || got < 6 {
		t.Errorf("rendered DOM has %d tables, the page %d", got, want)
	}
	for _, s := range []string{`id="predictors"`, `id="gmm"`, "KL Gap (mc, model-gt) vs K", "GPT-4o, 20-ins", "judge gain"} {
		if !strings.Contains(dom, s) {
			t.Errorf("rendered DOM lacks %q", s)
		}
	}

	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, page, "--screenshot="+shot)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	for name, b := range map[string][]byte{"/tmp/report-screenshot.png": data, "/tmp/report-screenshot.html": b.Bytes()} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Logf("copy for inspection: %v", err)
		}
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot is %d×%d, want 1280×2400", b.Dx(), b.Dy())
	}
	// Content reaches down the page: every 400-pixel band has ink.
	for y0 := 0; y0 < img.Bounds().Dy(); y0 += 400 {
		if ink := inkShare(img, image.Rect(0, y0, img.Bounds().Dx(), min(y0+400, img.Bounds().Dy()))); ink < 0.005 {
			t.Errorf("screenshot band %d–%d is blank (%.2f%% ink)", y0, y0+400, 100*ink)
		}
	}
	t.Logf("screenshot: %s (copied to /tmp/report-screenshot.png, the page to /tmp/report-screenshot.html)", shot)
}

// inkShare is the share of pixels in r that are not near-white.
func inkShare(img image.Image, r image.Rectangle) float64 {
	ink, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xe800 || cg < 0xe800 || cb < 0xe800 {
				ink++
			}
			all++
		}
	}
	return float64(ink) / float64(all)
}
