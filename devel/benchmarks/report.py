"""Targets (ratios, same machine, same run), their pass/miss, and the table printed at the end."""

from __future__ import annotations

import math

MB = 1_000_000
SKOPEO_DIR = "skopeo-dir"


def _target(name: str, figure: str, value: float, op: str, limit: float, ours: str, ref: str,
            absolute: bool = False) -> dict:
    """One target; ``absolute`` when ``value`` is the figure itself (seconds, percent, MB), not a ratio."""
    ok = {"<=": value <= limit, ">=": value >= limit, "<": value < limit}[op]
    return {"name": name, "figure": figure, "value": round(value, 3), "op": op, "limit": limit,
            "pass": bool(ok) and not math.isnan(value), "ours": ours, "reference": ref,
            "absolute": absolute or "memory" in name}


def _quiet_targets(results: dict) -> list[dict]:
    """Issue 14's figures of the server at rest and at its edges."""
    out = []
    if "idle" in results:
        r = results["idle"]
        window = f"{r['seconds']:.0f} s"
        out.append(_target("idle_cpu", f"idle: CPU of the server tree over {window} (% of a core)",
                           r["ours_cpu_percent"], "<", 0.5, f"{r['ours_cpu_percent']:.2f} %",
                           f"{r['peer_cpu_percent']:.2f} % distribution", absolute=True))
        out.append(_target("idle_memory", "idle: RSS of the server tree (MB)", r["ours_tree_rss_MB"], "<=", 120,
                           f"{r['ours_tree_rss_MB']:.0f} MB", f"{r['peer_rss_MB']:.0f} MB distribution"))
    if "pickup" in results:
        r = results["pickup"]
        out.append(_target("pickup", f"tasks: dispatch to start, worst of {r['count']} (s)", r["max_s"], "<=", 0.1,
                           f"{r['max_s'] * 1000:.0f} ms", f"median {r['median_s'] * 1000:.0f} ms", absolute=True))
    if "start" in results:
        r = results["start"]
        out.append(_target("start", "start: pulp-server run to listening, fresh data dir (s)", r["listening_s"],
                           "<=", 10, f"{r['listening_s']:.2f} s", f"ready {r['ready_s']:.2f} s", absolute=True))
        out.append(_target("stop", "stop: Ctrl-C until every process is gone (s)", r["stop_s"], "<=", 3,
                           f"{r['stop_s']:.2f} s", "—", absolute=True))
    return out


def targets(results: dict, size_label: str) -> list[dict]:
    """Every target the run has the figures for."""
    out = _quiet_targets(results)
    if "in" in results:
        r = results["in"]
        ours, peer, cp = (r[k]["median_wall_s"] for k in ("ours", "peer", "cp"))
        out.append(_target("in_vs_skopeo_push", f"in: upload+import {size_label} vs skopeo push (time)",
                           ours / peer, "<=", 0.5, f"{ours:.2f} s", f"{peer:.2f} s skopeo"))
        out.append(_target("in_vs_cp", f"in: upload+import {size_label} vs cp of the tarball (time)",
                           ours / cp, "<=", 2.5, f"{ours:.2f} s", f"{cp:.2f} s cp"))
        task = _med([x["extra"]["import_task_s"] for x in r["ours"]["rounds"] if x.get("extra")])
        out.append(_target("in_task", f"in: the import task after the last PUT, {size_label} (s)", task, "<=", 0.3,
                           f"{task:.2f} s", "—", absolute=True))
        kinds = r.get("kinds") or {}
        if len(kinds) > 1 and SKOPEO_DIR in kinds:
            base = r[kinds[SKOPEO_DIR]]["median_wall_s"]
            size = size_label.removesuffix(f" {r.get('kind')}")
            for kind, key in kinds.items():
                if kind != SKOPEO_DIR:
                    wall = r[key]["median_wall_s"]
                    out.append(_target(f"in_{kind}_vs_skopeo_dir", f"in: {kind} vs skopeo-dir tarball, {size} (time)",
                                       wall / base, "<=", 1.1, f"{wall:.2f} s", f"{base:.2f} s skopeo-dir"))
    if "out" in results:
        r = results["out"]
        ours, peer = r["pull_ours"]["median_wall_s"], r["pull_peer"]["median_wall_s"]
        out.append(_target("out_pull", "out: skopeo pull, ours vs distribution (time)", ours / peer, "<=", 1.0,
                           f"{ours:.2f} s", f"{peer:.2f} s distribution"))
        size = r["big_blob_bytes"]
        get, cat = r["get_ours"]["median_wall_s"], r["cat"]["median_wall_s"]
        out.append(_target("out_get_vs_cat", "out: blob GET vs cat of the file (throughput)", cat / get, ">=", 0.8,
                           f"{size / MB / get:.0f} MB/s", f"{size / MB / cat:.0f} MB/s cat"))
        bare = r["get_sendfile"]["median_wall_s"]
        out.append(_target("out_get_vs_sendfile", "out: blob GET vs a bare sendfile server (throughput)", bare / get,
                           ">=", 0.9, f"{size / MB / get:.0f} MB/s", f"{size / MB / bare:.0f} MB/s sendfile"))
    if "in" in results:
        peak = results["in"]["memory"]["tree_peak_rss_MB"]
        out.append(_target("memory", f"memory: server tree peak RSS, {size_label} upload (MB)", peak, "<", 200,
                           f"{peak:.0f} MB", "200 MB"))
    if "memory_4gib" in results:
        peak = results["memory_4gib"]["tree_peak_rss_MB"]
        out.append(_target("memory_4gib", "memory: server tree peak RSS, 4 GiB upload (MB)", peak, "<", 200,
                           f"{peak:.0f} MB", "200 MB"))
    if "parallel" in results:
        r = results["parallel"]
        single, concurrent = r["single"]["aggregate_MBps"], r["concurrent"]["aggregate_MBps"]
        out.append(_target("parallel", f"parallel: {r['images']} uploads at once vs one at a time (MB/s)",
                           concurrent / single, ">=", 1.5, f"{concurrent:.0f} MB/s", f"{single:.0f} MB/s"))
    if "push" in results:
        r = results["push"]
        ours, peer = r["ours"]["median_wall_s"], r["peer"]["median_wall_s"]
        out.append(_target("push", f"push: skopeo push {size_label}, ours vs distribution (time)", ours / peer,
                           "<=", 1.0, f"{ours:.2f} s", f"{peer:.2f} s distribution"))
        peak = r["memory"]["tree_peak_rss_MB"]
        out.append(_target("memory_push", f"memory: server tree peak RSS, {size_label} push (MB)", peak, "<", 200,
                           f"{peak:.0f} MB", "200 MB"))
    if "docker_push" in results:
        r = results["docker_push"]
        ours, peer = r["ours"]["median_wall_s"], r["peer"]["median_wall_s"]
        out.append(_target("docker_push", f"push: docker push {size_label}, ours vs distribution (time)",
                           ours / peer, "<=", 1.0, f"{ours:.2f} s", f"{peer:.2f} s distribution"))
    if "push_parallel" in results:
        r = results["push_parallel"]
        single, concurrent = r["single"]["aggregate_MBps"], r["concurrent"]["aggregate_MBps"]
        out.append(_target("push_parallel", f"push: {r['images']} skopeo pushes at once vs one at a time (MB/s)",
                           concurrent / single, ">=", 1.5, f"{concurrent:.0f} MB/s", f"{single:.0f} MB/s"))
    if "sync" in results:
        r = results["sync"]
        ours, peer = r["ours"]["median_wall_s"], r["peer"]["median_wall_s"]
        out.append(_target("sync", f"sync: {size_label} from distribution vs skopeo copy of it (time)", ours / peer,
                           "<=", 1.0, f"{ours:.2f} s", f"{peer:.2f} s skopeo"))
        peak = r["memory"]["tree_peak_rss_MB"]
        out.append(_target("memory_sync", f"memory: server tree peak RSS, {size_label} sync (MB)", peak, "<", 200,
                           f"{peak:.0f} MB", "200 MB"))
    return out


def _memory_line(prefix: str, m: dict) -> str:
    procs = ", ".join(f"{k} {v:.0f}" for k, v in m["process_peak_rss_MB"].items())
    return (f"{prefix}idle tree {m['idle_tree_rss_MB']:.0f} MB, peak tree RSS {m['tree_peak_rss_MB']:.0f} MB"
            f" (PSS {m['tree_peak_pss_MB'] or 0:.0f} MB); per process peak MB: {procs}")


def _details(results: dict) -> list[str]:
    lines = []
    if "idle" in results:
        r = results["idle"]
        procs = ", ".join(f"{k} {v:.0f}" for k, v in (r.get("ours_process_rss_MB") or {}).items())
        extra = r.get("server_test_only_imports")
        venv = (f"server venv with the test-only {', '.join(extra)}" if extra else
                "server venv of runtime dependencies only") if extra is not None else ""
        lines.append(f"idle: ours {r['ours_cpu_percent']:.2f}% of a core, {r['ours_tree_rss_MB']:.0f} MB ({procs}); "
                     f"docker-registry {r['peer_cpu_percent']:.2f}%, {r['peer_rss_MB']:.0f} MB")
        if venv:
            lines.append(f"      {venv}")
    if "in" in results:
        r = results["in"]
        mb = r["tarball_bytes"] / MB
        tasks = [x["extra"]["import_task_s"] for x in r["ours"]["rounds"] if x.get("extra")]
        kind = f" ({r['kind']})" if r.get("kind", SKOPEO_DIR) != SKOPEO_DIR else ""
        lines.append(f"in:  ours{kind} {mb / r['ours']['median_wall_s']:.0f} MB/s (import task "
                     f"{_med(tasks):.2f} s of it), server CPU {r['ours']['median_server_cpu_s']:.2f} s, client CPU "
                     f"{r['ours']['median_client_cpu_s']:.2f} s")
        lines.append(f"     skopeo push {mb / r['peer']['median_wall_s']:.0f} MB/s, registry CPU "
                     f"{r['peer']['median_server_cpu_s']:.2f} s, skopeo CPU {r['peer']['median_client_cpu_s']:.2f} s;"
                     f" cp {mb / r['cp']['median_wall_s']:.0f} MB/s (CPU {r['cp']['median_client_cpu_s']:.2f} s)")
        if len(r.get("kinds") or {}) > 1:
            parts = []
            for kind, key in r["kinds"].items():
                x = r[key]
                task = _med([y["extra"]["import_task_s"] for y in x["rounds"] if y.get("extra")])
                parts.append(f"{kind} {x['median_wall_s']:.2f} s ({r['tarball_bytes_by_kind'][kind] / MB:.0f} MB, "
                             f"import task {task:.2f} s, server CPU {x['median_server_cpu_s']:.2f} s)")
            lines.append("kinds: " + "; ".join(parts))
        m = r["memory"]
        procs = ", ".join(f"{k} {v:.0f}" for k, v in m["process_peak_rss_MB"].items())
        lines.append(f"mem: idle tree {m['idle_tree_rss_MB']:.0f} MB, peak tree RSS {m['tree_peak_rss_MB']:.0f} MB"
                     f" (PSS {m['tree_peak_pss_MB'] or 0:.0f} MB); per process peak MB: {procs}")
        peer_rss = [x["extra"]["peer_peak_rss_MB"] for x in r["peer"]["rounds"]]
        lines.append(f"     docker-registry peak RSS {max(peer_rss):.0f} MB")
    if "memory_4gib" in results:
        m = results["memory_4gib"]
        lines.append(f"4GiB: ours {m['upload']['wall_s']:.1f} s (server CPU {m['upload']['server_cpu_s']:.1f} s), "
                     f"skopeo push {m['skopeo_push']['wall_s']:.1f} s, cp {m['cp']['wall_s']:.1f} s (one run each); "
                     f"idle {m['idle_tree_rss_MB']:.0f} MB, peak tree RSS {m['tree_peak_rss_MB']:.0f} MB "
                     f"(PSS {m['tree_peak_pss_MB'] or 0:.0f} MB)")
    if "out" in results:
        r = results["out"]
        size = r["big_blob_bytes"] / MB
        lines.append(f"out: pull server CPU ours {r['pull_ours']['median_server_cpu_s']:.2f} s / distribution "
                     f"{r['pull_peer']['median_server_cpu_s']:.2f} s; GET distribution "
                     f"{size / r['get_peer']['median_wall_s']:.0f} MB/s, bare sendfile server "
                     f"{size / r['get_sendfile']['median_wall_s']:.0f} MB/s; GET server CPU ours "
                     f"{r['get_ours']['median_server_cpu_s']:.2f} s / distribution "
                     f"{r['get_peer']['median_server_cpu_s']:.2f} s")
    if "parallel" in results:
        r = results["parallel"]
        single, concurrent = r["single"]["median_server_cpu_s"], r["concurrent"]["median_server_cpu_s"]
        lines.append(f"par: {r['images']} × {r['bytes'] / r['images'] / MB:.0f} MB; server CPU single {single:.1f} s"
                     f" / concurrent {concurrent:.1f} s; tree peak RSS at once "
                     f"{max(r['concurrent_tree_peak_rss_MB']):.0f} MB")
    if "push" in results:
        r = results["push"]
        mb = r["blob_bytes"] / MB
        peer_rss = [x["extra"]["peer_peak_rss_MB"] for x in r["peer"]["rounds"]]
        lines.append(f"push: ours {mb / r['ours']['median_wall_s']:.0f} MB/s, server CPU "
                     f"{r['ours']['median_server_cpu_s']:.2f} s, skopeo CPU {r['ours']['median_client_cpu_s']:.2f} s;"
                     f" distribution {mb / r['peer']['median_wall_s']:.0f} MB/s, registry CPU "
                     f"{r['peer']['median_server_cpu_s']:.2f} s, skopeo CPU {r['peer']['median_client_cpu_s']:.2f} s,"
                     f" peak RSS {max(peer_rss):.0f} MB")
        lines.append(_memory_line("      mem: ", r["memory"]))
    if "push_parallel" in results:
        r = results["push_parallel"]
        single, concurrent = r["peer_single"]["aggregate_MBps"], r["peer_concurrent"]["aggregate_MBps"]
        cpu = r["single"]["median_server_cpu_s"], r["concurrent"]["median_server_cpu_s"]
        lines.append(f"ppush: {r['images']} × {r['bytes'] / r['images'] / MB:.0f} MB; ours server CPU single "
                     f"{cpu[0]:.1f} s / concurrent {cpu[1]:.1f} s, tree peak RSS at once "
                     f"{max(r['concurrent_tree_peak_rss_MB']):.0f} MB; distribution "
                     f"{concurrent:.0f} MB/s at once vs {single:.0f} MB/s one at a time ({concurrent / single:.2f})")
    if "sync" in results:
        r = results["sync"]
        mb = r["blob_bytes"] / MB
        tasks = [x["extra"]["task_s"] for x in r["ours"]["rounds"] if x.get("extra")]
        blobs = sorted({x["extra"]["blobs_downloaded"] for x in r["ours"]["rounds"] if x.get("extra")})
        lines.append(f"sync: ours {mb / r['ours']['median_wall_s']:.0f} MB/s (task {_med(tasks):.2f} s of it, "
                     f"{'/'.join(map(str, blobs))} blobs), server CPU {r['ours']['median_server_cpu_s']:.2f} s; "
                     f"skopeo copy "
                     f"{mb / r['peer']['median_wall_s']:.0f} MB/s, registry CPU {r['peer']['median_server_cpu_s']:.2f}"
                     f" s, skopeo CPU {r['peer']['median_client_cpu_s']:.2f} s")
        lines.append(_memory_line("      mem: ", r["memory"]))
    return lines


def _med(values: list) -> float:
    values = sorted(v for v in values if v is not None)
    if not values:
        return float("nan")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def table(results: dict, checks: list[dict]) -> str:
    """The targets as a Markdown table, then one line per phase with the absolute figures behind them."""
    head = ["figure", "ours", "reference", "ratio", "target", "result"]
    rows = [[t["figure"], t["ours"], t["reference"], "—" if t.get("absolute") else f"{t['value']:.2f}",
             f"{t['op']} {t['limit']}", "pass" if t["pass"] else "**MISS**"] for t in checks]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def fmt(row: list) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
    lines = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows), ""]
    return "\n".join(lines + _details(results))
