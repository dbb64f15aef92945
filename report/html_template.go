package report

// htmlTemplateText is the page of WriteHTML. The style sheet is inline and
// the page loads nothing; figures arrive as inline SVG.
const htmlTemplateText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ggmi{{with .Version}} {{.}}{{end}}">
<title>{{.Title}}</title>
<style>
:root{--fg:#1d1d1f;--muted:#5b6068;--line:#dcdde2;--accent:#1f5fa8;--alt:#f5f6f8}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
main{max-width:1120px;margin:0 auto;padding:24px 32px 48px}
header{border-bottom:2px solid var(--fg);padding-bottom:8px;margin-bottom:8px}
h1{font-size:28px;line-height:1.2;margin:0 0 6px}
h2{font-size:21px;margin:40px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 8px}
p{max-width:78ch}
.meta{color:var(--muted);margin:0 0 10px}
nav ol{display:flex;flex-wrap:wrap;gap:4px 20px;list-style:none;padding:0;margin:6px 0 0}
a{color:var(--accent)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 18px;font-size:14px;min-width:min(100%,440px)}
caption{caption-side:top;text-align:left;color:var(--muted);font-size:13px;padding:0 0 6px}
th,td{padding:5px 12px 5px 0;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #8a8d93;font-weight:600;vertical-align:bottom}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ci{display:block;color:var(--muted);font-size:12px}
.missing{color:#999}
abbr[title]{text-decoration:underline dotted;cursor:help}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px;margin:8px 0 16px}
figure{margin:0;padding:10px 12px;border:1px solid var(--line);border-radius:6px;background:#fff;break-inside:avoid}
figure.wide{grid-column:1/-1}
figure svg{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:13px;color:var(--muted);margin-top:6px}
.note{font-weight:400;font-size:.85em;color:#8a4b00;max-width:32em}
.verdict{font-weight:600;padding:1px 7px;border-radius:3px;white-space:nowrap}
.v-agrees,.v-holds{background:#e2f3e5;color:#14632b}
.v-opposite,.v-reversed{background:#fbe4e4;color:#9b1c1c}
.v-inconclusive,.v-undefined,.v-no-claim,.v-none{background:#ececec;color:#444}
code,pre,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:13px}
pre{background:var(--alt);border:1px solid var(--line);border-radius:4px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere}
.hash{overflow-wrap:anywhere}
.bar{display:inline-block;height:9px;background:#8fb0d9;vertical-align:middle}
dl.defs{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;font-size:14px}
dl.defs dt{font-weight:600}
dl.defs dd{margin:0;color:var(--muted)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{margin-top:40px;border-top:1px solid var(--line);padding-top:8px;color:var(--muted);font-size:13px}
@page{margin:14mm}
@media print{
body{font-size:10.5pt}
main{max-width:none;padding:0}
nav{display:none}
h2{break-after:avoid;margin-top:20pt}
table,figure,tr{break-inside:avoid}
.figs{grid-template-columns:1fr 1fr;gap:8pt}
figure{border-color:#ccc}
.scroll{overflow:visible}
a{color:inherit;text-decoration:none}
}
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<p class="meta">{{with .Name}}Run <strong>{{.}}</strong>{{end}}{{with .Created}} · created <time datetime="{{$.CreatedISO}}">{{.}}</time>{{end}}{{with .Version}} · ggmi {{.}}{{end}}</p>
{{with .Summary}}<p>{{.}}</p>
{{end}}<nav aria-label="Contents"><ol>
{{if .Configs}}<li><a href="#configurations">Configurations</a></li>
{{end}}{{if .Predictors}}<li><a href="#predictors">Predictors</a></li>
{{end}}{{if .Metrics}}<li><a href="#metrics">Metrics</a></li>
{{end}}{{if .Downstream}}<li><a href="#downstream">Downstream</a></li>
{{end}}{{if .Attributes}}<li><a href="#attributes">By attribute</a></li>
{{end}}{{if .GMM}}<li><a href="#gmm">GMM lab</a></li>
{{end}}<li><a href="#manifest">Manifest</a></li>
</ol></nav>
</header>
{{if .Configs}}
<section id="configurations" aria-labelledby="h-configurations">
<h2 id="h-configurations">Configurations</h2>
<div class="scroll"><table>
<caption>The {{len .Configs}} configurations compared, their parameters and the measured {{.GainLabel}} (95% interval below each value).</caption>
<thead><tr><th scope="col">id</th><th scope="col">label</th><th scope="col">parameters</th><th scope="col" class="num">{{.GainLabel}}</th></tr></thead>
<tbody>
{{range .Configs}}<tr><th scope="row"><code>{{.ID}}</code></th><td>{{.Name}}</td><td>{{range $i, $p := .Params}}{{if $i}}, {{end}}<code>{{$p.Key}}</code>&nbsp;=&nbsp;{{$p.Value}}{{end}}</td><td class="num">{{template "cell" .Gain}}</td></tr>
{{end}}</tbody>
</table></div>
{{with .GainDoc}}<p><strong>{{$.GainLabel}}</strong>: {{.}}</p>
{{end}}</section>
{{end}}{{if .Predictors}}
<section id="predictors" aria-labelledby="h-predictors">
<h2 id="h-predictors">Predictors: do the metrics rank the configurations by {{.GainLabel}}?</h2>
<p>For each metric, Spearman's rank correlation ρ between the metric and the measured {{.GainLabel}} across configurations (tied values share their average rank), with a 95% interval. {{.PredNote}} <em>agrees</em>: the interval excludes zero on the expected side; <em>opposite</em>: on the other side; <em>inconclusive</em>: it contains zero; <em>no claim</em>: no sign is expected.</p>
<div class="scroll"><table>
<caption>Spearman's ρ between each predictor and {{.GainLabel}}.</caption>
<thead><tr><th scope="col">predictor</th><th scope="col" class="num">ρ</th><th scope="col" class="num">95% interval</th><th scope="col" class="num">configurations</th><th scope="col">expected sign</th><th scope="col">verdict</th></tr></thead>
<tbody>
{{range .Predictors}}<tr><th scope="row">{{if .Doc}}<abbr title="{{.Doc}}">{{.Label}}</abbr>{{else}}{{.Label}}{{end}} <code>{{.Metric}}</code>{{if .Note}}<div class="note">{{.Note}}</div>{{end}}</th><td class="num">{{.Rho}}</td><td class="num">{{.CI}}</td><td class="num">{{.N}}</td><td>{{.Expected}}</td><td><span class="verdict {{.Class}}">{{.Verdict}}</span></td></tr>
{{end}}</tbody>
</table></div>
<div class="figs">
{{range .ScatterFigs}}{{template "figure" .}}
{{end}}</div>
</section>
{{end}}{{if .Metrics}}
<section id="metrics" aria-labelledby="h-metrics">
<h2 id="h-metrics">Metrics of the synthetic data</h2>
<div class="scroll"><table>
<caption>Every metric per configuration, with its 95% interval below the value.</caption>
<thead><tr><th scope="col">configuration</th>{{range .Metrics}}<th scope="col" class="num">{{if .Doc}}<abbr title="{{.Doc}}">{{.Label}}</abbr>{{else}}{{.Label}}{{end}}</th>{{end}}</tr></thead>
<tbody>
{{range .MetricRows}}<tr><th scope="row">{{.Name}}</th>{{range .Cells}}<td class="num">{{template "cell" .}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
<div class="figs">
{{range .MetricFigs}}{{template "figure" .}}
{{end}}</div>
<h3>What the metrics measure</h3>
<dl class="defs">
{{range .Metrics}}<dt>{{.Label}} <code>{{.Name}}</code></dt><dd>{{if .Doc}}{{.Doc}}{{else}}–{{end}}</dd>
{{end}}</dl>
</section>
{{end}}{{if .Downstream}}
<section id="downstream" aria-labelledby="h-downstream">
<h2 id="h-downstream">Downstream: the student trained on each configuration</h2>
<div class="scroll"><table>
<caption>Student results per configuration, with the 95% interval below each value.</caption>
<thead><tr><th scope="col">configuration</th>{{range .Downstream}}<th scope="col" class="num">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .DownRows}}<tr><th scope="row">{{.Name}}</th>{{range .Cells}}<td class="num">{{template "cell" .}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
<div class="figs">
{{range .DownFigs}}{{template "figure" .}}
{{end}}</div>
</section>
{{end}}{{if .Attributes}}
<section id="attributes" aria-labelledby="h-attributes">
<h2 id="h-attributes">By attribute of the prompts</h2>
<p>Each value of an attribute of the prompts, <em>sweep</em>: the configurations whose swept attribute has it, with their mean {{.GainLabel}} and metrics (Student-t 95% interval below each mean); <em>sampled</em>: inside each configuration, the records drawn with it, the share curation kept (Wilson 95% interval) and the metrics measured on them alone. A sampled value has no gain of its own: the student trains on the mixture.</p>
{{range .Attributes}}<div class="scroll"><table>
<caption>By {{.Name}}.</caption>
<thead><tr><th scope="col">{{.Name}}</th><th scope="col">from</th><th scope="col">configurations</th><th scope="col" class="num">records</th><th scope="col" class="num">kept by ε</th><th scope="col" class="num">{{$.GainLabel}}</th>{{range .Metrics}}<th scope="col" class="num"><code>{{.}}</code></th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Value}}</th><td>{{.Source}}</td><td>{{.Configs}}</td><td class="num">{{.Records}}</td><td class="num">{{template "cell" .Kept}}</td><td class="num">{{template "cell" .Gain}}</td>{{range .Cells}}<td class="num">{{template "cell" .}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}</section>
{{end}}{{with .GMM}}
<section id="gmm" aria-labelledby="h-gmm">
<h2 id="h-gmm">{{.Title}}</h2>
{{with .Summary}}<p>{{.}}</p>
{{end}}{{if .Trends}}<div class="scroll"><table>
<caption>Trend of each quantity against each swept variable: least-squares slope and Spearman's ρ with their 95% intervals, and the verdict against the paper's sign.</caption>
<thead><tr><th scope="col">quantity</th><th scope="col">swept</th><th scope="col">paper</th><th scope="col" class="num">slope</th><th scope="col" class="num">95% interval</th><th scope="col" class="num">ρ</th><th scope="col" class="num">95% interval</th><th scope="col" class="num">rounds</th><th scope="col">verdict</th></tr></thead>
<tbody>
{{range .Trends}}<tr><th scope="row">{{if .Label}}<abbr title="{{.Label}}"><code>{{.Column}}</code></abbr>{{else}}<code>{{.Column}}</code>{{end}}</th><td>{{.Sweep}}</td><td>{{.Paper}}</td><td class="num">{{.Slope}}</td><td class="num">{{.SlopeCI}}</td><td class="num">{{.Rho}}</td><td class="num">{{.RhoCI}}</td><td class="num">{{.N}}</td><td><span class="verdict {{.Class}}">{{.Verdict}}</span></td></tr>
{{end}}</tbody>
</table></div>
{{end}}{{if .Figures}}<div class="figs">
{{range .Figures}}{{template "figure" .}}
{{end}}</div>
{{end}}</section>
{{end}}
<section id="manifest" aria-labelledby="h-manifest">
<h2 id="h-manifest">Manifest</h2>
<dl class="defs">
<dt>run</dt><dd>{{if .Name}}{{.Name}}{{else}}–{{end}}</dd>
<dt>ggmi version</dt><dd>{{if .Version}}{{.Version}}{{else}}–{{end}}</dd>
<dt>created</dt><dd>{{if .Created}}<time datetime="{{.CreatedISO}}">{{.Created}}</time>{{else}}–{{end}}</dd>
</dl>
{{if .Inputs}}<h3>Inputs</h3>
<div class="scroll"><table>
<caption>Every input of the run with its SHA-256 hash.</caption>
<thead><tr><th scope="col">role</th><th scope="col">path</th><th scope="col" class="num">bytes</th><th scope="col">SHA-256</th></tr></thead>
<tbody>
{{range .Inputs}}<tr><td>{{.Role}}</td><th scope="row"><code>{{.Path}}</code></th><td class="num">{{.Bytes}}</td><td class="hash">{{.SHA256}}</td></tr>
{{end}}</tbody>
</table></div>
{{end}}{{if .Seeds}}<h3>Seeds</h3>
<table>
<caption>The seed of every random choice.</caption>
<thead><tr><th scope="col">used by</th><th scope="col" class="num">seed</th></tr></thead>
<tbody>
{{range .Seeds}}<tr><th scope="row">{{.Key}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{if .Stages}}<h3>Stage timings</h3>
<table>
<caption>Wall time of each stage.</caption>
<thead><tr><th scope="col">stage</th><th scope="col" class="num">seconds</th><th scope="col" class="num">share</th><th scope="col"><span class="visually-hidden">share bar</span></th></tr></thead>
<tbody>
{{range .Stages}}<tr><th scope="row">{{.Name}}</th><td class="num">{{.Seconds}}</td><td class="num">{{.Share}}</td><td style="width:220px"><span class="bar" style="width:{{.Percent}}%" aria-hidden="true"></span></td></tr>
{{end}}<tr><th scope="row">total</th><td class="num">{{.StageTotal}}</td><td></td><td></td></tr>
</tbody>
</table>
{{end}}{{if .Config}}<h3>Configuration</h3>
<pre><code>{{.Config}}</code></pre>
{{end}}</section>
<footer>Written by ggmi{{with .Version}} {{.}}{{end}}. This page is self-contained: it loads no scripts, fonts, style sheets or images.</footer>
</main>
</body>
</html>
{{define "cell"}}{{if .Missing}}<span class="missing" title="not measured">–</span>{{else}}{{.Value}}{{with .CI}}<span class="ci">{{.}}</span>{{end}}{{end}}{{end}}
{{define "figure"}}<figure id="{{.ID}}"{{if .Wide}} class="wide"{{end}} aria-labelledby="{{.ID}}-c">{{.SVG}}<figcaption id="{{.ID}}-c">{{.Caption}}</figcaption></figure>{{end}}`
