/* report.c: the sweep's HTML report (see report.h). */
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "report.h"

/* A JSON string, safe inside <script>: '<' is written as \u003c so no "</script>" can appear. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '<': fputs("\\u003c", f); break;
        case '>': fputs("\\u003e", f); break;
        case '&': fputs("\\u0026", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* A grid as [h, w, "digits row-major"]. */
static void json_grid(FILE *f, unsigned h, unsigned w, const uint8_t *cells)
{
    fprintf(f, "[%u,%u,\"", h, w);
    for (size_t k = 0; k < (size_t)h * w; k++) fputc('0' + (cells[k] % 10), f);
    fputs("\"]", f);
}

static void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void write_candidate(FILE *f, const struct report_candidate *c, uint32_t n_samples)
{
    fputs("{\"name\":", f);
    json_str(f, c->name);
    fputs(",\"hash\":", f);
    json_str(f, c->hash);
    fputs(",\"src\":", f);
    json_str(f, c->source);
    fprintf(f, ",\"dm\":%u,\"dt\":%u,\"tm\":%u,\"tt\":%u,\"partial\":%.4f,\"cpu\":%llu,\"outs\":[",
            c->demo_match, c->demo_total, c->test_match, c->test_total, c->partial,
            (unsigned long long)c->cpu_us);
    for (uint32_t s = 0; c->out && s < n_samples; s++) {
        const struct report_output *o = &c->out[s];
        if (s) fputc(',', f);
        fputs("{\"st\":", f);
        json_str(f, bf_status_name((enum bf_status)o->status));
        fprintf(f, ",\"m\":%d", o->match ? 1 : 0);
        if (o->has_grid) {
            fputs(",\"g\":", f);
            json_grid(f, o->h, o->w, o->cells);
        }
        if (o->text) {
            fputs(",\"t\":", f);
            json_str(f, o->text);
        }
        fputc('}', f);
    }
    fputs("]}", f);
}

static void write_task(FILE *f, const struct report_task *rt)
{
    const struct task *t = rt->task;
    uint32_t n = (uint32_t)t->n_demo + t->n_test;
    fputs("{\"name\":", f);
    json_str(f, t->name);
    fprintf(f, ",\"scored\":%u,\"samples\":[", rt->n_candidates_scored);
    for (uint32_t s = 0; s < n; s++) {
        const struct sample *sm = &t->samples[s];
        if (s) fputc(',', f);
        fprintf(f, "{\"id\":\"%s/%u\",\"in\":", sample_kind_name(sm->kind), sm->index);
        json_grid(f, sm->input.h, sm->input.w, sm->input.cell);
        fputs(",\"out\":", f);
        if (sm->has_output) json_grid(f, sm->output.h, sm->output.w, sm->output.cell);
        else fputs("null", f);
        fputc('}', f);
    }
    fputs("],\"best\":[", f);
    for (uint32_t c = 0; c < rt->n_best; c++) {
        if (c) fputc(',', f);
        write_candidate(f, &rt->best[c], n);
    }
    fputs("]}", f);
}

static const char page_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin:0 0 .4em}"
    "section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em;margin:0 0 1em}"
    "section.solved{border-left:6px solid #2ecc40}section.partial{border-left:6px solid #ffdc00}"
    "table{border-collapse:collapse}td,th{padding:4px 8px;vertical-align:top;text-align:left}"
    "th{font-weight:600;font-size:12px;max-width:16em}canvas{border:1px solid #888;image-rendering:pixelated}"
    ".st{font-size:11px;color:#555}.ok{color:#2a2}.bad{color:#c22}pre{margin:0;font-size:12px}"
    "details{font-weight:normal}#filter{margin:0 0 1em}";

/* Draws every grid from the JSON data; ARC colours 0-9. */
static const char page_script[] =
    "const C=['#000','#0074d9','#ff4136','#2ecc40','#ffdc00','#aaaaaa','#f012be','#ff851b','#7fdbff','#870c25'];"
    "const D=JSON.parse(document.getElementById('data').textContent);"
    "function grid(g){const c=document.createElement('canvas');const h=g[0],w=g[1],s=Math.max(3,Math.min(16,Math.floor(120/Math.max(h,w,1))));"
    "c.width=Math.max(w*s,1);c.height=Math.max(h*s,1);const x=c.getContext('2d');"
    "for(let i=0;i<h;i++)for(let j=0;j<w;j++){x.fillStyle=C[+g[2][i*w+j]];x.fillRect(j*s,i*s,s,s);}"
    "x.strokeStyle='rgba(128,128,128,.35)';if(s>=6){for(let i=0;i<=h;i++){x.beginPath();x.moveTo(0,i*s);x.lineTo(w*s,i*s);x.stroke();}"
    "for(let j=0;j<=w;j++){x.beginPath();x.moveTo(j*s,0);x.lineTo(j*s,h*s);x.stroke();}}return c;}"
    "function el(t,cls,txt){const e=document.createElement(t);if(cls)e.className=cls;if(txt!==undefined)e.textContent=txt;return e;}"
    "const root=document.getElementById('tasks');"
    "for(const t of D.tasks){const sec=el('section');const b=t.best[0];"
    "if(b&&b.dm==b.dt&&b.tm==b.tt&&b.dt>0)sec.className='solved';else if(b&&(b.dm>0||b.partial>0))sec.className='partial';"
    "sec.appendChild(el('h2','',t.name+'  ('+t.scored+' candidates scored)'));"
    "const tb=el('table');const hr=el('tr');hr.appendChild(el('th','','sample'));hr.appendChild(el('th','','input'));hr.appendChild(el('th','','expected'));"
    "for(const c of t.best){const th=el('th');th.appendChild(el('div','',c.name+' '+c.hash.slice(0,8)));"
    "th.appendChild(el('div','st','demo '+c.dm+'/'+c.dt+'  test '+c.tm+'/'+c.tt+'  partial '+c.partial.toFixed(2)+'  '+c.cpu+' us'));"
    "if(c.src){const d=el('details');d.appendChild(el('summary','','source'));d.appendChild(el('pre','',c.src));th.appendChild(d);}hr.appendChild(th);}"
    "tb.appendChild(hr);"
    "t.samples.forEach((s,k)=>{const tr=el('tr');tr.appendChild(el('td','',s.id));const a=el('td');a.appendChild(grid(s.in));tr.appendChild(a);"
    "const e=el('td');if(s.out)e.appendChild(grid(s.out));else e.appendChild(el('span','st','unknown'));tr.appendChild(e);"
    "for(const c of t.best){const td=el('td');const o=c.outs[k];if(o){if(o.g)td.appendChild(grid(o.g));"
    "td.appendChild(el('div','st '+(o.m?'ok':'bad'),o.st+(o.m?' match':'')+(o.t?': '+o.t:'')));}tr.appendChild(td);}tb.appendChild(tr);});"
    "sec.appendChild(tb);root.appendChild(sec);}"
    "document.getElementById('filter').onchange=e=>{for(const s of root.children)s.style.display=(e.target.checked&&s.className!='solved')?'none':'';};";

int report_write_html(const char *path, const char *title, const char *summary,
                      const struct report_task *tasks, size_t n_tasks)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return log_fail(-errno, "cannot write %s: %s", tmp, strerror(errno));
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    html_text(f, title);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", page_style);
    html_text(f, title);
    fputs("</h1>\n<pre>", f);
    html_text(f, summary);
    fputs("</pre>\n<label id=\"filterlabel\"><input type=\"checkbox\" id=\"filter\"> solved tasks only</label>\n"
          "<div id=\"tasks\"></div>\n<script id=\"data\" type=\"application/json\">{\"tasks\":[", f);
    for (size_t i = 0; i < n_tasks; i++) {
        if (i) fputs(",\n", f);
        write_task(f, &tasks[i]);
    }
    fprintf(f, "]}</script>\n<script>%s</script>\n</body></html>\n", page_script);
    if (ferror(f) | (fclose(f) != 0)) {
        int e = errno;
        unlink(tmp);
        return log_fail(-e, "write error on %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return log_fail(-e, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return 0;
}
