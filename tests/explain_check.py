#!/usr/bin/env python3
"""explain_check.py - checks `explain --json` against the individual commands
run by hand afterwards in the same batch session (TAP lines on stdout); the
subcommand `residual explain --json` must print the same JSON.

usage: explain_check.py RESIDUAL LABEL [explain options...] (PROMPT | --ids IDS) [:: LABEL ...]
(each case between '::' runs in turn; one TAP plan for all)

1. the JSON has the documented shape (prompt_tokens, answer[...], summary);
2. every number of the answer equals what `lens`, `dla`, `ablate`, `attn` and
   `heads` print in the session explain left (the prompt and the answer);
3. the attributions add up: the embedding, the listed components and the
   rest give the logit difference, and so do all of `dla`'s lines;
4. the ablation deltas equal `ablate` by hand followed by `dla` and `lens`;
5. every decimal number of the summary is one of those numbers.
Only the standard library: python3 without extra packages.
"""
import json
import re
import subprocess
import sys

n_test = 0
n_fail = 0


def ok(cond, what):
    global n_test, n_fail
    n_test += 1
    print(("ok %d - " if cond else "not ok %d - ") % n_test + what)
    if not cond:
        n_fail += 1
    return cond


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_shape(d):
    """The shape of the issue: names and types."""
    errs = []

    def need(obj, key, kind, where):
        if not isinstance(obj, dict) or key not in obj:
            errs.append("%s: no '%s'" % (where, key))
            return None
        v = obj[key]
        good = {"num": is_num(v), "str": isinstance(v, str), "list": isinstance(v, list),
                "dict": isinstance(v, dict), "hook": v is None or isinstance(v, str),
                "num?": v is None or is_num(v)}[kind]
        if not good:
            errs.append("%s.%s: not %s" % (where, key, kind))
        return v

    for i, t in enumerate(need(d, "prompt_tokens", "list", "$") or []):
        need(t, "id", "num", "$.prompt_tokens[%d]" % i)
        need(t, "text", "str", "$.prompt_tokens[%d]" % i)
    need(d, "summary", "str", "$")
    answer = need(d, "answer", "list", "$") or []
    if not answer:
        errs.append("$.answer: empty")
    for i, a in enumerate(answer):
        w = "$.answer[%d]" % i
        for k, kind in (("id", "num"), ("text", "str"), ("p", "num"), ("logit_diff", "num"), ("lens", "list"),
                        ("first_top1", "hook"), ("components", "list"), ("vs", "dict")):
            need(a, k, kind, w)
        vs = a.get("vs", {})
        need(vs, "id", "num", w + ".vs")
        need(vs, "text", "str", w + ".vs")
        for j, c in enumerate(a.get("lens", [])):
            need(c, "hook", "str", "%s.lens[%d]" % (w, j))
            r = need(c, "rank", "num", "%s.lens[%d]" % (w, j))
            need(c, "p", "num", "%s.lens[%d]" % (w, j))
            if is_num(r) and r < 1:
                errs.append("%s.lens[%d].rank: ranks count from 1" % (w, j))
        for j, c in enumerate(a.get("components", [])):
            cw = "%s.components[%d]" % (w, j)
            name = need(c, "name", "str", cw)
            if isinstance(name, str) and not re.fullmatch(r"L\d+H\d+|L\d+ MLP|embed", name):
                errs.append("%s.name: '%s' is not L3H2, L3 MLP or embed" % (cw, name))
            need(c, "dla", "num", cw)
            need(c, "ablate_zero_delta", "num?", cw)
            need(c, "ablate_mean_delta", "num?", cw)
            for k, at in enumerate(need(c, "attends", "list", cw) or []):
                need(at, "pos", "num", "%s.attends[%d]" % (cw, k))
                need(at, "w", "num", "%s.attends[%d]" % (cw, k))
    return errs


def sections(out):
    """Batch output split at `echo ==NAME==` lines."""
    secs, cur = {}, None
    for line in out.splitlines():
        m = re.fullmatch(r"==(\S+)==", line.strip())
        if m:
            cur = m.group(1)
            secs[cur] = []
        elif cur:
            secs[cur].append(line)
    return secs


def parse_lens(lines):
    """hook -> (rank from 1, p) from `lens POS --target ID` (which ranks from 1 too)."""
    res = {}
    for line in lines:
        m = re.match(r"(\S+)\s.*\| target p ([0-9.]+) rank (\d+)", line)
        if m:
            res[m.group(1)] = (int(m.group(3)), float(m.group(2)))
    return res


def parse_dla(lines):
    """(metric, {component: value}) from `dla`."""
    metric, comps = None, {}
    for line in lines:
        m = re.search(r"minus .* = (-?[0-9.]+)$", line)
        if m:
            metric = float(m.group(1))
        m = re.fullmatch(r"\s+(L\d+H\d+|L\d+ mlp|embed)\s+([-+][0-9.]+)", line)
        if m:
            comps[m.group(1)] = float(m.group(2))
    return metric, comps


def parse_attn(lines, q):
    """key position -> weight of query q from `attn L H`."""
    res = {}
    for line in lines:
        m = re.match(r"\s*(\d+) ('.*?'|#\d+)\s+-> (.*)$", line)
        if m and int(m.group(1)) == q:
            for k, w in re.findall(r"(?:^|, )(\d+) (?:'.*?'|#\d+) ([0-9.]+)(?=,|$)", m.group(3)):
                res[int(k)] = float(w)
    return res


def cmd_name(name):
    """explain's 'L3 MLP' is dla's 'L3 mlp'."""
    return name.replace(" MLP", " mlp")


def ablate_cmd(name, mode):
    m = re.fullmatch(r"L(\d+)H(\d+)", name)
    if m:
        return "ablate %s %s %s" % (m.group(1), m.group(2), mode)
    return "ablate blocks.%s.hook_mlp_out %s" % (re.match(r"L(\d+)", name).group(1), mode)


def near(a, b, tol):
    return a is not None and b is not None and abs(a - b) <= tol


def main():
    residual, groups, cur = sys.argv[1], [], []
    for a in sys.argv[2:] + ["::"]:
        if a == "::":
            if cur:
                groups.append(cur)
            cur = []
        else:
            cur.append(a)
    for g in groups:
        check_case(residual, g[0], g[1:])


def explain_line(args):
    """The session's start (prompt) and the explain command for explain's options."""
    prompt, line, i = None, ["explain"], 0
    words = []
    while i < len(args):
        a = args[i]
        if a == "-n":
            line.insert(1, args[i + 1])
            i += 2
        elif a == "--vs":
            line += ["--vs", "'%s'" % args[i + 1].replace("'", "'\\''")]
            i += 2
        elif a == "--ids":
            prompt = "prompt --ids " + args[i + 1]
            i += 2
        elif a == "--model":
            i += 2
        elif a == "--chat":
            line.append("--chat")
            i += 1
        else:
            words.append(a)
            i += 1
    if prompt is None:
        prompt = "prompt " + " ".join(words)
    return prompt, " ".join(line + ["--json"])


def first_json(out):
    """The JSON object explain printed at the start of a batch session's output."""
    start = out.index("{")
    depth, instr, esc = 0, False, False
    for k in range(start, len(out)):
        ch = out[k]
        if instr:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                instr = False
        elif ch == '"':
            instr = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return json.loads(out[start:k + 1]), out[k + 1:]
    raise ValueError("no whole JSON object")


def check_case(residual, label, args):
    model = args[args.index("--model") + 1] if "--model" in args else None
    rc, out, err = run([residual, "explain", "--json"] + args)
    if not ok(rc == 0, "%s: residual explain --json runs (%s)" % (label, err.strip()[:200])):
        return
    try:
        d0 = json.loads(out)
    except ValueError as e:
        ok(False, "%s: the output is JSON (%s)" % (label, e))
        return
    errs = check_shape(d0)
    ok(not errs, "%s: the JSON has explain's shape%s" % (label, ": " + "; ".join(errs[:5]) if errs else ""))
    if errs:
        return
    # the same session: explain, then the commands by hand on the prompt it leaves
    prompt, line = explain_line(args)
    lines = [prompt, line, "echo ==start==", "run all"]
    for i, a in enumerate(d0["answer"]):
        p, t, vs = a["pos"], a["id"], a["vs"]["id"]
        lines += ["echo ==lens%d==" % i, "lens %d --target %d" % (p, t),
                  "echo ==dla%d==" % i, "dla %d %d --vs %d --top 100000" % (p, t, vs)]
        for j, c in enumerate(x for x in a["components"] if x["name"] != "embed"):
            for mode in ("zero", "mean"):
                lines += ["echo ==abl%d_%d_%s==" % (i, j, mode), ablate_cmd(c["name"], mode),
                          "dla %d %d --vs %d --top 1" % (p, t, vs), "lens %d --target %d" % (p, t), "clear all"]
            m = re.fullmatch(r"L(\d+)H(\d+)", c["name"])
            if m:
                lines += ["echo ==attn%d_%d==" % (i, j), "attn %s %s" % m.groups()]
        if a.get("copied"):
            m = re.fullmatch(r"L(\d+)H(\d+)", a["copied"]["head"])
            lines += ["echo ==copy%d==" % i, "attn %s %s" % m.groups(),
                      "echo ==heads%d==" % i, "heads induction --top 100000"]
    bargs = [residual, "--batch", "-"] + (["--model", model] if model else [])
    rc, bout, berr = run(bargs, "\n".join(lines) + "\n")
    if not ok(rc == 0, "%s: explain and the same numbers by hand in one batch session (%s)" % (label, berr.strip()[:200])):
        return
    try:
        d, rest = first_json(bout[bout.index("\n") + 1:])  # after the prompt's line
    except ValueError as e:
        ok(False, "%s: explain --json in batch mode prints JSON (%s)" % (label, e))
        return
    ok(d == d0, "%s: the command in a session gives the subcommand's JSON" % label)
    bout = rest
    secs = sections(bout)
    values = []  # every number the commands printed, for the summary
    for i, a in enumerate(d["answer"]):
        w = "%s: answer token %d" % (label, i + 1)
        lens = parse_lens(secs.get("lens%d" % i, []))
        bad = [c["hook"] for c in a["lens"]
               if c["hook"] not in lens or lens[c["hook"]][0] != c["rank"] or not near(lens[c["hook"]][1], c["p"], 6e-5)]
        ok(lens and not bad, "%s: lens ranks (from 1) and probabilities equal `lens`%s" % (w, " " + str(bad) if bad else ""))
        final = lens.get(a["lens"][-1]["hook"], (None, None))[1]
        ok(near(final, a["p"], 6e-5), "%s: p equals the lens' last point (%s vs %s)" % (w, final, a["p"]))
        first = next((c["hook"] for c in a["lens"] if c["rank"] == 1), None)
        ok(first == a["first_top1"], "%s: first_top1 is the first rank 1 (%s)" % (w, first))
        metric, comps = parse_dla(secs.get("dla%d" % i, []))
        ok(near(metric, a["logit_diff"], 6e-5), "%s: logit_diff equals `dla` (%s vs %s)" % (w, metric, a["logit_diff"]))
        ok(comps and near(sum(comps.values()), metric, 1e-4 * len(comps) + 1e-4),
           "%s: every component and the embedding sum to the logit difference (frozen scale)" % w)
        comp_list = [c for c in a["components"] if c["name"] != "embed"]
        emb = [c for c in a["components"] if c["name"] == "embed"]
        ok(len(emb) == 1 and near(emb[0]["dla"], a["embed"], 1e-6), "%s: the embedding is listed as a component" % w)
        total = a["dla_rest"] + sum(c["dla"] for c in a["components"])
        ok(near(total, a["logit_diff"], 1e-3), "%s: embed + components + rest = logit_diff (%.5f vs %.5f)" % (w, total, a["logit_diff"]))
        ok(near(comps.get("embed"), a["embed"], 6e-5), "%s: the embedding's attribution equals `dla`" % w)
        values += [metric, final] + list(comps.values())
        for j, c in enumerate(comp_list):
            cw = "%s, %s" % (w, c["name"])
            ok(near(comps.get(cmd_name(c["name"])), c["dla"], 6e-5), "%s: dla equals `dla`" % cw)
            for mode in ("zero", "mean"):
                sec = secs.get("abl%d_%d_%s" % (i, j, mode), [])
                m2, _ = parse_dla(sec)
                pl = parse_lens(sec).get(a["lens"][-1]["hook"], (None, None))[1]
                delta = None if m2 is None else m2 - metric
                ok(near(delta, c["ablate_%s_delta" % mode], 1.2e-4),
                   "%s: ablate_%s_delta equals ablating by hand (%s vs %s)" % (cw, mode, delta, c["ablate_%s_delta" % mode]))
                ok(near(pl, c["p_" + mode], 6e-5), "%s: p after %s ablation equals `lens` (%s vs %s)" % (cw, mode, pl, c["p_" + mode]))
                values += [m2, pl, delta]
            if c["attends"]:
                att = parse_attn(secs.get("attn%d_%d" % (i, j), []), a["pos"])
                bad = [x for x in c["attends"] if not near(att.get(x["pos"]), x["w"], 6e-5)]
                ok(not bad, "%s: attends equals `attn`%s" % (cw, " " + str(bad) if bad else ""))
                values += list(att.values())
        if a.get("copied"):
            att = parse_attn(secs.get("copy%d" % i, []), a["pos"])
            values += list(att.values())
            ok(near(att.get(a["copied"]["from_pos"]), a["copied"]["attn"], 6e-5), "%s: the copying head's attention equals `attn`" % w)
            hm = re.fullmatch(r"L(\d+)H(\d+)", a["copied"]["head"])
            ind = None
            for hl in secs.get("heads%d" % i, []):
                f = hl.split()
                if len(f) == 7 and f[0] == hm.group(1) and f[1] == hm.group(2):
                    ind = float(f[4].rstrip("?"))  # '?': a mean over fewer than 5 queries
            ok(near(ind, a["copied"]["induction"], 6e-5), "%s: the copying head's induction score equals `heads` (%s)" % (w, ind))
    # the summary states numbers of these commands only
    values = [v for v in values if v is not None]
    missing = []
    for s in re.findall(r"-?\d+\.\d+", d["summary"]):
        dec = len(s.split(".")[1])
        x = float(s)
        if not any(abs(v - x) <= 0.5 * 10 ** -dec + 6e-5 for v in values):
            missing.append(s)
    ok(not missing and re.search(r"\d\.\d", d["summary"]),
       "%s: every number in the summary is one the commands print%s" % (label, " (not: %s)" % missing if missing else ""))


if __name__ == "__main__":
    main()
    print("1..%d" % n_test)
    sys.exit(1 if n_fail else 0)
