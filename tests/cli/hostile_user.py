#!/usr/bin/env python3
# zoa — the CLI against a hostile or careless user (issue #16; docs/reliability.md "Hostile user"). Every probe
# checks the CLI contract: exit 0 on success, exit 2 with exactly one line on stderr on bad input, never a signal,
# never a hang (each run has a deadline), no input file modified (all inputs are hashed before and after), no
# partial or temporary output left behind.
# usage: hostile_user.py --zoa BIN --fixtures tests/fixtures --work DIR [--sanitized] [--only NAME]
import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--zoa", required=True)
p.add_argument("--fixtures", required=True)
p.add_argument("--work", required=True)
p.add_argument("--assets", default="", help="examples/assets: larger models for the file-replaced-while-read probe")
p.add_argument("--sanitized", action="store_true", help="ASan build: skip the probes that lower RLIMIT_AS")
p.add_argument("--only", default="", help="run the probes whose name contains this")
p.add_argument("--skip", default="", help="comma-separated: skip the probes whose name contains one of these (e.g. "
               "'threads' when probing a binary without a thread cap)")
args = p.parse_args()

ZOA = os.path.abspath(args.zoa)
if not (os.path.isfile(ZOA) and os.access(ZOA, os.X_OK)):
    sys.exit(f"hostile_user: --zoa {ZOA}: not an executable file (build the zoa CLI first)")
WORK = os.path.abspath(args.work)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
IN = os.path.join(WORK, "in")  # every input lives here; its files are hashed around every probe
OUT = os.path.join(WORK, "out")  # outputs; must hold nothing unexpected afterwards
os.makedirs(IN)
os.makedirs(OUT)
TIMEOUT = 300 if args.sanitized else 60
failures = []


# ---- inputs --------------------------------------------------------------------------------------------------
def st_image(header, tensors):
    """A safetensors image from a header dict (without offsets) and {name: bytes}."""
    off, data, h = 0, b"", {}
    for k, v in header.items():
        if k == "__metadata__":
            h[k] = v
            continue
        b = tensors[k]
        h[k] = dict(v, data_offsets=[off, off + len(b)])
        off += len(b)
        data += b
    text = json.dumps(h, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    tensors = {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items()
               if k != "__metadata__"}
    header = {k: ({kk: vv for kk, vv in v.items() if kk != "data_offsets"} if k != "__metadata__" else v)
              for k, v in h.items()}
    return header, tensors


def put(name, data):
    path = os.path.join(IN, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


VIT = put("vit.safetensors", open(os.path.join(args.fixtures, "models", "vit_tiny_timm.safetensors"), "rb").read())
IMG = put("img.png", open(os.path.join(args.fixtures, "images", "decode", "rgb.png"), "rb").read())
IMG2 = put("img2.png", open(os.path.join(args.fixtures, "models", "img_0.png"), "rb").read())

header, tensors = read_st(VIT)
cfg = json.loads(header["__metadata__"]["zoa.config"])
depth = cfg["depth"]
# item 10: zoa.config says one block fewer than the file holds
h10 = json.loads(json.dumps(header))
h10["__metadata__"]["zoa.config"] = json.dumps(dict(cfg, depth=depth - 1))
VIT_DEEP = put("vit_extra_block.safetensors", st_image(h10, tensors))
# item 12: a finite but absurd LayerNorm weight: every logit overflows
t12 = dict(tensors)
t12["norm.weight"] = struct.pack("<f", 3e38) * (len(tensors["norm.weight"]) // 4)
VIT_HUGE = put("vit_norm_3e38.safetensors", st_image(header, t12))

# item 3: class folders with directory links (a cycle; a link out of its class)
for c in ("a", "b"):
    put(os.path.join("cyc", c, "0.png"), open(IMG, "rb").read())
    put(os.path.join("esc", c, "0.png"), open(IMG, "rb").read())
os.symlink(".", os.path.join(IN, "cyc", "a", "s1"))
os.symlink(".", os.path.join(IN, "cyc", "a", "s2"))
os.symlink("..", os.path.join(IN, "esc", "a", "up"))
# item 16: names a report or a line-oriented output must escape
ODD = put("we<i>rd & |na|me\tx\ny.png", open(IMG, "rb").read())
# `zoa stream` data: class folders of 16x16 images (the tiny ViT's input): 10 classes (its head), 3 (a subset),
# 11 (more than its head), and 10 classes under a name that Markdown and SVG must escape
for root, n in (("cls10", 10), ("cls3", 3), ("cls11", 11), ("we<i>rd & |na|me", 10)):
    for c in range(n):
        put(os.path.join(root, f"c{c:02d}", "0.png"), open(IMG2, "rb").read())
CLS10, CLS3, CLS11, CLS_ODD = (os.path.join(IN, d) for d in ("cls10", "cls3", "cls11", "we<i>rd & |na|me"))


def restore_inputs():
    """Puts IN back as it was (a failed probe may have overwritten an input; later probes need them intact)."""
    shutil.rmtree(IN)
    shutil.copytree(PRISTINE, IN, symlinks=True)


def snapshot():
    out = {}
    for root, dirs, files in os.walk(IN):
        for f in files:
            path = os.path.join(root, f)
            if not os.path.islink(path):
                out[path] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


PRISTINE = os.path.join(WORK, "pristine")
shutil.copytree(IN, PRISTINE, symlinks=True)


# ---- runner --------------------------------------------------------------------------------------------------
def run(argv, stdout=subprocess.PIPE, limit_as=None, stdin=subprocess.DEVNULL):
    def pre():
        if limit_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    t0 = time.time()
    try:
        r = subprocess.run([ZOA] + argv, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin, timeout=TIMEOUT,
                           preexec_fn=pre if limit_as else None)
    except subprocess.TimeoutExpired:
        return None, b"", b"", time.time() - t0
    return r.returncode, r.stdout or b"", r.stderr, time.time() - t0


def probe(name, argv, expect_rc, expect_err="", expect_out=None, outputs=(), inspect=None, **kw):
    """Runs zoa; checks exit status, the one stderr line, untouched inputs and the OUT directory afterwards
    (inspect(): more checks of the outputs, returning a list of problems)."""
    if (args.only and args.only not in name) or any(k and k in name for k in args.skip.split(",")):
        return None
    before = snapshot()
    rc, out, err, secs = run(argv, **kw)
    text = err.decode(errors="replace")
    problems = []
    if rc is None:
        problems.append(f"hung (killed after {TIMEOUT} s)")
    elif rc < 0:
        problems.append(f"died of signal {-rc}")
    elif rc != expect_rc:
        problems.append(f"exit {rc}, expected {expect_rc}")
    if rc == 2 and text.count("\n") != 1:
        problems.append(f"{text.count(chr(10))} stderr lines")
    if rc == 0 and text and not (expect_err and text.count("\n") == 1):
        problems.append("stderr not empty on success")
    if expect_err and expect_err not in text:
        problems.append(f"stderr lacks '{expect_err}'")
    if expect_out is not None and expect_out not in out.decode(errors="replace"):
        problems.append(f"stdout lacks '{expect_out}'")
    if snapshot() != before:
        problems.append("an input file changed")
        restore_inputs()
    if inspect is not None and rc == expect_rc:
        problems += inspect()
    left = sorted(set(os.listdir(OUT)) - set(outputs))
    if left:
        problems.append(f"left in the output directory: {left}")
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    status = "FAIL" if problems else "ok"
    print(f"{status} {name} ({secs:.1f} s): exit {rc}: {text.strip()}" + (f"  <-- {'; '.join(problems)}"
                                                                         if problems else ""), flush=True)
    if problems:
        failures.append(name)
    return out


P = ["predict", "--weights", VIT]
o = lambda name: os.path.join(OUT, name)

# 1. a model file replaced while it is read: exit 0 or 2, never SIGBUS (cp truncates and rewrites in place)
if not args.only or "replaced" in args.only:
    srcs = [VIT, put("other.safetensors", st_image(header, t12))]
    if args.assets:  # larger files: more pages to lose while loading
        srcs = [put(n, open(os.path.join(args.assets, n), "rb").read())
                for n in ("fmnist_vit.safetensors", "fmnist_vit_w6a6.safetensors")]
    big = put("big.safetensors", open(srcs[0], "rb").read())
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            shutil.copyfile(srcs[i % 2], big)  # opens with O_TRUNC and writes: what `cp` does
            i += 1

    th = threading.Thread(target=churn, daemon=True)
    th.start()
    bad, outcomes, runs = [], {}, 60
    try:  # any exception here must stop the churn thread, or the script never exits (a non-daemon loop)
        for i in range(runs):
            rc, _, err, _ = run(["predict", "--weights", big, IMG])
            outcomes[rc] = outcomes.get(rc, 0) + 1
            if rc not in (0, 2) or (rc == 2 and err.count(b"\n") != 1):
                bad.append((rc, err))
    finally:
        stop.set()
        th.join()
    for f in [big] + srcs[1:] + (srcs[:1] if args.assets else []):
        os.remove(f)
    print(f"{'FAIL' if bad else 'ok'} model_replaced_while_read: {runs} runs, exit statuses {outcomes}", flush=True)
    if bad:
        failures.append(f"model_replaced_while_read {bad[:3]}")

# 2. thread counts: bounded, and a thread that cannot start unwinds (exit 2, no hang)
probe("threads_10000", P + ["--threads", "10000", IMG], 2, "--threads must be an integer in 1..1024")
if not args.sanitized:
    probe("threads_no_address_space", P + ["--threads", "200", IMG], 2, "cannot start thread",
          limit_as=1_000_000 * 1024)

# 3. directory links: a cycle terminates, an escape is refused (--calib lists a folder)
probe("calib_link_cycle", P + ["--precision", "w8a8", "--calib", os.path.join(IN, "cyc", "a"), IMG], 0)
probe("calib_link_escape", P + ["--precision", "w8a8", "--calib", os.path.join(IN, "esc", "a"), IMG], 2,
      "leads outside")

# 4. an output naming an input (itself, a hard link, a symbolic link) is refused before any work
probe("save_over_weights", P + ["--save", VIT, IMG], 2, "is the input file")
probe("save_over_image", P + ["--save", IMG, IMG], 2, "is the input file")
os.symlink(VIT, o("link.safetensors"))
probe("save_over_link_to_weights", P + ["--save", o("link.safetensors"), IMG], 2, "is the input file",
      outputs=["link.safetensors"])
if os.path.lexists(o("link.safetensors")):  # (left when --only/--skip skipped the probe)
    os.remove(o("link.safetensors"))
if not args.only or "stdout" in args.only:
    before = snapshot()
    rc, _, err, _ = run(P + [IMG], stdout=open(VIT, "ab"))  # `>> model.safetensors`
    ok = rc == 2 and b"standard output is the input file" in err and snapshot() == before
    if snapshot() != before:
        restore_inputs()
    print(f"{'ok' if ok else 'FAIL'} stdout_appends_to_weights: exit {rc}: {err.decode().strip()}", flush=True)
    if not ok:
        failures.append("stdout_appends_to_weights")

# 5. write errors are detected: files and standard output. The file probe writes to a private copy of /dev/full
# (mknod, root only): a regressed binary renaming over the target would replace the device node (the pre-#16 CLI
# did exactly that to /dev/full).
FULL = os.path.join(WORK, "full")
try:
    os.mknod(FULL, 0o20666, os.makedev(1, 7))  # S_IFCHR, the full device's numbers
except OSError:
    FULL = None
if FULL:
    probe("save_dev_full", P + ["--save", FULL, IMG], 2, "full: cannot write: No space left on device")
    if not os.path.exists(FULL) or not stat.S_ISCHR(os.stat(FULL).st_mode):
        print("FAIL save_dev_full: the device node was replaced", flush=True)
        failures.append("save_dev_full_replaced")
else:
    print("SKIP save_dev_full: cannot create a device node here (not root)", flush=True)
if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):  # a redirection renames nothing
    full = lambda: open("/dev/full", "wb")
    probe("predict_stdout_dev_full", P + [IMG], 2, "cannot write to standard output", stdout=full())
    probe("info_stdout_dev_full", ["info", VIT], 2, "cannot write to standard output", stdout=full())
    probe("help_stdout_dev_full", ["--help"], 2, "cannot write to standard output", stdout=full())
else:
    print("SKIP *_stdout_dev_full: /dev/full is not the full device here", flush=True)
r, w = os.pipe()
os.close(r)  # a reader that went away: EPIPE, not SIGPIPE
probe("predict_stdout_closed_pipe", P + [IMG], 2, "cannot write to standard output", stdout=w)
os.close(w)

# 6. an output that cannot be created fails before any work; outputs are atomic
probe("save_missing_dir", P + ["--save", "/nonexistent/dir/m.safetensors", IMG], 2, "cannot create a file in",
      expect_out="")
probe("save_ok", P + ["--save", o("m.safetensors"), IMG], 0, outputs=["m.safetensors"])

# 7. long output names work (the temporary name does not grow with the target's)
long_name = "m" * 240 + ".safetensors"
probe("save_250_char_name", P + ["--save", o(long_name), IMG], 0, outputs=[long_name])
# kill -9 in the middle of a run: no temporary or partial output is left
if not args.only or "kill" in args.only:
    proc = subprocess.Popen([ZOA] + P + ["--save", o("k.safetensors")] + [IMG] * 2000, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = sorted(os.listdir(OUT))
    ok = left in ([], ["k.safetensors"])  # before the commit nothing, after it the complete file
    if left:
        ok = ok and subprocess.run([ZOA, "info", o("k.safetensors")], capture_output=True).returncode == 0
    print(f"{'ok' if ok else 'FAIL'} kill9_during_predict_save: left {left}", flush=True)
    if not ok:
        failures.append("kill9_during_predict_save")
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

# 8. options that would be ignored are errors
probe("calib_with_fp32", P + ["--precision", "fp32", "--calib", os.path.join(IN, "cyc"), IMG], 2,
      "has no use with --precision fp32")
probe("calib_missing", P + ["--precision", "w8a8", "--calib", "/nonexistent", IMG], 2, "is not a directory")

# 9. strict parsing: repeats, wrapped numbers, empty values
probe("repeated_option", P + ["--weights", VIT, IMG], 2, "--weights given twice")
probe("threads_wraps_32bit", P + ["--threads", "4294967297", IMG], 2, "got '4294967297'")
probe("mean_empty_items", P + ["--mean", ",", IMG], 2, "--mean")
probe("value_is_an_option", ["predict", "--weights", "--threads", "2", IMG], 2, "--weights needs a value")
probe("image_missing_before_work", P + [IMG, os.path.join(IN, "missing.png")], 2, "missing.png: cannot open",
      expect_out="")

# 10. tensors the model does not use: an error listing them, with an opt-out
probe("unused_tensors", ["predict", "--weights", VIT_DEEP, IMG], 2, f"12 tensor(s) not used by a ViT with {depth - 1}")
probe("unused_tensors_allowed", ["predict", "--weights", VIT_DEEP, "--allow-unused", IMG], 0)

# 12. non-finite logits are an error, not class 0
probe("nonfinite_logits", ["predict", "--weights", VIT_HUGE, IMG], 2, "logit 0 is")

# 16. odd names stay on one line and in one field
out = probe("odd_image_name", P + [IMG, ODD], 0)
if out is not None:
    lines = out.decode().splitlines()
    ok = len(lines) == 2 and "/we<i>rd & |na|me\\tx\\ny.png\t" in lines[1] and all(
        len(l.split("\t")) == 3 for l in lines)
    print(f"{'ok' if ok else 'FAIL'} odd_image_name_escaped: {lines[1][:60] if len(lines) > 1 else lines}",
          flush=True)
    if not ok:
        failures.append("odd_image_name_escaped")

# 17. messages: one line whatever the path holds; numbers out of range say so; memory errors name the step
probe("newline_in_path", ["predict", "--weights", os.path.join(IN, "no\nsuch.safetensors"), IMG], 2,
      "no\\nsuch.safetensors: cannot open")
probe("mean_underflows", P + ["--mean", "1e-45,0,0", IMG], 2, "too small for a float")
probe("inf_pixels", P + ["--mean", "-3e38,0,0", "--std", "1e-3,1,1", IMG], 2, "is inf; inputs must be finite")
if not args.sanitized and (not args.only or "memory" in args.only):
    # a 256 MiB model (sparse file) under an address-space limit that fits the small model plus 32 MiB
    huge = os.path.join(WORK, "huge.safetensors")
    text = json.dumps({"x": {"dtype": "F32", "shape": [1 << 26], "data_offsets": [0, 1 << 28]}}).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(huge, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + (1 << 28))
    fits = next((mb for mb in (64, 128, 256, 512, 1024) if run(P + [IMG], limit_as=mb << 20)[0] == 0), None)
    if fits is None:
        print("SKIP out_of_memory_names_step: zoa needs more than 1 GiB of address space here", flush=True)
    else:
        probe("out_of_memory_names_step", ["predict", "--weights", huge, IMG], 2, "out of memory while reading",
              limit_as=(fits + 32) << 20)
    os.remove(huge)

# ---- `zoa stream`: the same contract (the tiny ViT over 10 class folders, no adaptation: about 0.1 s a run) -------
S = ["stream", "--weights", VIT, "--method", "none", "--data", CLS10, "--batch", "4"]
CK = os.path.join(WORK, "ck")  # checkpoints that must outlive one probe
os.makedirs(CK)
probe("stream_ok", S + ["--out", o("r.md"), "--svg", o("r.svg"), "--log", o("r.jsonl"), "--checkpoint", o("r.ckpt")],
      0, expect_out="mean_accuracy=", outputs=["r.md", "r.svg", "r.jsonl", "r.ckpt"])
# 2. thread counts are capped before any thread starts
probe("stream_threads_1025", S + ["--threads", "1025"], 2, "--threads must be an integer in 1..1024, got '1025'")
probe("stream_loader_threads_1025", S + ["--loader-threads", "1025"], 2,
      "--loader-threads must be an integer in 1..1024")
# 4. outputs that are inputs: the model, an image of the data, the checkpoint resumed from; two outputs in one file
probe("stream_out_over_weights", S + ["--out", VIT], 2, "--out " + VIT + " is the input file")
probe("stream_log_over_weights", S + ["--log", VIT], 2, "--log " + VIT + " is the input file")
probe("stream_checkpoint_over_weights", S + ["--checkpoint", VIT], 2, "is the input file")
probe("stream_svg_over_data_image", S + ["--svg", os.path.join(CLS10, "c00", "0.png")], 2,
      "is a file inside the input folder")
probe("stream_out_is_log", S + ["--out", o("x"), "--log", o("x")], 2, "is already another output")
# 5. write errors: files (a private copy of the full device) and standard output
if FULL:
    for opt in ("--out", "--svg", "--log", "--checkpoint"):
        probe(f"stream_{opt[2:].replace('-', '_')}_dev_full", S + [opt, FULL], 2, "No space left on device")
    if not os.path.exists(FULL) or not stat.S_ISCHR(os.stat(FULL).st_mode):
        print("FAIL stream_dev_full: the device node was replaced", flush=True)
        failures.append("stream_dev_full_replaced")
if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
    probe("stream_stdout_dev_full", S, 2, "cannot write to standard output", stdout=open("/dev/full", "wb"))
    probe("stream_help_stdout_dev_full", ["stream", "--help"], 2, "cannot write to standard output",
          stdout=open("/dev/full", "wb"))
r, w = os.pipe()
os.close(r)
probe("stream_stdout_closed_pipe", S, 2, "cannot write to standard output", stdout=w)
os.close(w)
# 6. an output that cannot be created fails before any work (nothing on stdout)
for opt in ("--out", "--svg", "--log", "--checkpoint", "--save-calibrated"):
    probe(f"stream_{opt[2:].replace('-', '_')}_missing_dir", S + [opt, "/nonexistent/dir/f"], 2,
          "cannot create a file in", expect_out="")
# checkpoints: --checkpoint may be the --resume file (continue in place); an existing other checkpoint is kept
ck = os.path.join(CK, "run.ckpt")
probe("stream_checkpoint_new", S + ["--checkpoint", ck], 0)
probe("stream_checkpoint_exists", S + ["--checkpoint", ck], 2, "exists; continue it with --resume")
probe("stream_resume_in_place", S + ["--checkpoint", ck, "--resume", ck], 0, expect_out="mean_accuracy=")
probe("stream_resume_into_new_checkpoint", S + ["--checkpoint", o("f"), "--resume", ck], 0, outputs=["f"])
shutil.copyfile(ck, os.path.join(CK, "other.ckpt"))
probe("stream_resume_into_existing_other", S + ["--checkpoint", os.path.join(CK, "other.ckpt"), "--resume", ck], 2,
      "exists; continue it with --resume")
probe("stream_out_over_resumed", S + ["--resume", ck, "--out", ck], 2, "is the input file")
# 8. options that would be ignored are errors
probe("stream_save_calibrated_fp32", S + ["--save-calibrated", o("q")], 2, "is used at fp32")
probe("stream_calib_fp32", S + ["--calib", CLS10], 2, "--calib chooses calibration images")
probe("stream_calib_missing", S + ["--precision", "w8a8", "--calib", "/nonexistent"], 2, "/nonexistent", expect_out="")
CAL = ["--precision", "w8a8", "--calib", CLS10, "--calib-images", "8"]
probe("stream_calibrate_and_save", S + CAL + ["--save-calibrated", o("q.safetensors")], 0, outputs=["q.safetensors"])
Q = os.path.join(WORK, "q.safetensors")  # a calibrated model (not in IN: made here, then read)
subprocess.run([ZOA] + S + CAL + ["--save-calibrated", Q], capture_output=True)
if os.path.exists(Q):
    probe("stream_save_calibrated_calibrated", ["stream", "--weights", Q, "--method", "none", "--data", CLS10,
                                                "--save-calibrated", o("q2")], 2, "is already calibrated")
# 9. strict parsing: repeats, wrapped severities, empty list items; 15: --zoa-set ranges
probe("stream_repeated_method", S + ["--method", "zoa"], 2, "--method given twice ('none' and 'zoa')")
probe("stream_severity_wraps", ["stream", "--weights", VIT, "--data", "fmnist-c:fog:4294967297"], 2,
      "must be an integer in 1..5, got '4294967297'")
probe("stream_method_comma", ["stream", "--weights", VIT, "--method", ",", "--data", CLS10], 2, "empty item in ','")
probe("stream_data_comma", ["stream", "--weights", VIT, "--data", ","], 2, "empty item in ','")
probe("stream_zoa_set_lr_1e30", ["stream", "--weights", VIT, "--data", CLS10, "--zoa-set", "lr=1e30"], 2,
      "outside [0, 1]")
probe("stream_zoa_set_empty_key", ["stream", "--weights", VIT, "--data", CLS10, "--zoa-set", "=1"], 2,
      "has an empty key")
# 10. unused tensors (strict by default, --allow-unused opts out)
probe("stream_unused_tensors", ["stream", "--weights", VIT_DEEP, "--method", "none", "--data", CLS10], 2,
      "12 tensor(s) not used")
probe("stream_unused_tensors_allowed", ["stream", "--weights", VIT_DEEP, "--method", "none", "--data", CLS10,
                                        "--allow-unused"], 0)
# 11. more classes than the head: an error; fewer: a subset, said once on stderr
probe("stream_11_classes_10_outputs", S[:5] + ["--data", CLS11], 2, "has 11 classes, the model outputs 10")
probe("stream_3_classes_subset", S[:5] + ["--data", CLS3], 0, "note: " + CLS3 + " has 3 classes")
# 12. non-finite logits end the run (they used to count as class 0)
probe("stream_nonfinite_logits", ["stream", "--weights", VIT_HUGE, "--method", "none", "--data", CLS10], 2,
      "the model overflows on this data")
# 16. a data folder named like markup: Markdown table and SVG stay valid
def odd_outputs():
    import xml.etree.ElementTree as ET
    problems = []
    try:
        ET.parse(o("odd.svg"))
    except ET.ParseError as e:
        problems.append(f"odd.svg is not XML: {e}")
    rows = [l for l in open(o("odd.md"), encoding="utf-8").read().splitlines() if l.startswith("|")]
    cells = [len(l.replace("\\|", "").split("|")) for l in rows]
    if len(rows) != 3 or len(set(cells)) != 1:
        problems.append(f"odd.md table broken: {rows}")
    return problems


probe("stream_odd_folder_name", S[:5] + ["--data", CLS_ODD, "--out", o("odd.md"), "--svg", o("odd.svg")], 0,
      outputs=["odd.md", "odd.svg"], inspect=odd_outputs)

print(f"{len(failures)} failure(s)" + (f": {failures}" if failures else ""))
sys.exit(1 if failures else 0)
