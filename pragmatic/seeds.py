"""Lab 9's training kernel: a small network on the digits, trained once per random seed.

    from pragmatic.seeds import Config, train
    runs = train(range(1_000))                  # the baseline, one run per seed
    runs["val_loss"], runs["test_acc"]          # arrays, one value per seed

    python -m pragmatic.seeds --seeds 1000 [--learning-rate 0.04 ...] [--out runs.npz] [--json]

The model is a one-hidden-layer network, 64 pixels -> `hidden` ReLU units -> 10 digits, trained
by minibatch AdamW (optax) with a cosine-decaying learning rate on a fixed split of
`pragmatic.data.load("digits")`, inputs scaled to [0, 1] by dividing by 16. A seed `s` sets the
initial weights (`jax.random.key(s)`) and the order in which the training rows are visited,
reshuffled every epoch (NumPy's generator seeded with `s`), so a seed changes both, as it does
in a deep-learning script. A convex model trained on the full batch (multinomial logistic
regression by gradient descent) would reach almost the same weights from any start: its
seed-to-seed spread would be close to zero, and the lab would have nothing to show.

Three formulations compute the same runs (`METHODS`; the same to float32 rounding, which
`tests/test_seeds.py` checks):

- "loop":    one compiled run (`train_one`), called once per seed;
- "vmap":    `train_one` vectorised over a chunk of seeds with `jax.vmap`, one call per chunk;
- "batched": the same arithmetic written directly on stacked weights (a leading seed axis and
             `einsum`), one call per chunk.

`DEFAULT_METHOD` and `DEFAULT_CHUNK` were chosen by measurement on the course's 2-core machine
(`python -m pragmatic.bench --section seeds`): vmap over chunks of 5 to 10 seeds took about
three quarters of the loop's time in the author's runs, and 0.8 to 0.9 of it in a review's
rerun on a busier machine, where the batched formulation was as fast within noise and a vmap
over all the seeds at once was slower than the loop with JAX on both cores (as the issue that
asked for the lab had reported) but not on one. The margins are small on a CPU; the lab times
the default against the loop and the naive vmap again. The shape
of the network and of the training (hidden, batch, steps) is compiled in; the learning rate and
the weight decay are arguments of the compiled code, so changing them does not recompile.

The rest of the module is lab 9's experiment (`experiment`: the baseline over many seeds and a
ladder of learning rates), its simulated agent (`agent`) and the uncertainty that its finite
table of runs adds to it (`table_spread`), the remedies (`paired`, `interval_coverage`,
`seeds_needed`) and the findings as checks (`*_findings`).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

SPLIT_SEED = 20_260_311  # the fixed train / validation / test split
N_VAL, N_TEST = 400, 397  # the rest is the training set
N_TRAIN = 1_797 - N_VAL - N_TEST  # 1,000 rows
PIXELS, CLASSES = 64, 10
METHODS = ("loop", "vmap", "batched")
DEFAULT_METHOD, DEFAULT_CHUNK = "vmap", 5
METRICS = ("val_loss", "val_acc", "test_loss", "test_acc")
MAX_SEED = 2**31 - 1


class SeedsError(ValueError):
    """Bad input to the seed-training kernel: one line naming the value and what is allowed."""


@dataclass(frozen=True)
class Config:
    """What one training run does. hidden, batch and steps fix the compiled shapes; the learning
    rate and the weight decay (AdamW's, decoupled) are passed to the compiled code."""

    hidden: int = 32
    batch: int = 50
    steps: int = 300
    learning_rate: float = 0.04
    weight_decay: float = 0.0

    def __post_init__(self):
        for name in ("hidden", "batch", "steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise SeedsError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.batch > N_TRAIN:
            raise SeedsError(f"batch must be at most the {N_TRAIN:,} training rows, "
                             f"got {self.batch!r}")
        if not _finite(self.learning_rate) or self.learning_rate <= 0:
            raise SeedsError(f"learning_rate must be a finite number > 0, "
                             f"got {self.learning_rate!r}")
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            raise SeedsError(f"weight_decay must be a finite number >= 0, "
                             f"got {self.weight_decay!r}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.hidden, self.batch, self.steps)


def _finite(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x)


class Data(NamedTuple):
    x_train: jax.Array
    y_train: jax.Array
    x_val: jax.Array
    y_val: jax.Array
    x_test: jax.Array
    y_test: jax.Array


def split_rows(n: int, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Row numbers of the fixed split: a seeded permutation, cut into test, validation, train."""
    order = np.random.default_rng(seed).permutation(n)
    return {"test": order[:N_TEST], "val": order[N_TEST:N_TEST + N_VAL],
            "train": order[N_TEST + N_VAL:]}


@lru_cache(maxsize=1)
def data() -> Data:
    """The digits, pixels scaled to [0, 1], split once with SPLIT_SEED."""
    from .data import load
    df = load("digits")
    x = df.drop(columns="digit").to_numpy(np.float32) / 16.0
    y = df["digit"].to_numpy(np.int32)
    rows = split_rows(len(df))
    parts = [(jnp.asarray(x[rows[p]]), jnp.asarray(y[rows[p]])) for p in ("train", "val", "test")]
    return Data(*(a for pair in parts for a in pair))



# --- the kernel: one training run -------------------------------------------------------------

def init(key, hidden):
    """He-scaled normal weights for the hidden layer, a 1/sqrt(fan-in) scale for the output."""
    k1, k2 = jax.random.split(key)
    return {"w1": jax.random.normal(k1, (PIXELS, hidden)) * jnp.sqrt(2 / PIXELS),
            "b1": jnp.zeros(hidden),
            "w2": jax.random.normal(k2, (hidden, CLASSES)) * jnp.sqrt(1 / hidden),
            "b2": jnp.zeros(CLASSES)}


def logits(params, x):
    hidden = jax.nn.relu(x @ params["w1"] + params["b1"])
    return hidden @ params["w2"] + params["b2"]


def loss(params, x, y):
    """Mean cross-entropy of the labels y under the network's softmax."""
    return optax.softmax_cross_entropy_with_integer_labels(logits(params, x), y).mean()


def minibatches(seed, batch, steps, n=N_TRAIN):
    """Row numbers of `steps` minibatches, shape (steps, batch): the training rows reshuffled
    every epoch by NumPy's generator seeded with `seed` (rows left over at the end of an epoch
    wait for the next shuffle). Drawn on the host: a sort on XLA's CPU backend costs about 20
    times as much as NumPy's shuffle."""
    rng = np.random.default_rng(seed)
    per_epoch = n // batch
    epochs = -(-steps // per_epoch)
    orders = np.stack([rng.permutation(n) for _ in range(epochs)])
    return orders[:, :per_epoch * batch].reshape(-1, batch)[:steps].astype(np.int32)


def evaluate(params, x, y):
    out = logits(params, x)
    return (optax.softmax_cross_entropy_with_integer_labels(out, y).mean(),
            (out.argmax(-1) == y).mean())


def train_one(seed, rows, learning_rate, weight_decay, data, hidden):
    """One run from one seed: the initial weights come from jax.random.key(seed), the minibatch
    order (`rows`, from `minibatches(seed, ...)`) from the same seed. Returns the validation and
    test loss and accuracy of the trained network."""
    params = init(jax.random.key(seed), hidden)
    schedule = optax.cosine_decay_schedule(learning_rate, decay_steps=rows.shape[0])
    opt = optax.adamw(schedule, weight_decay=weight_decay)

    def step(carry, rows):
        params, state = carry
        grads = jax.grad(loss)(params, data.x_train[rows], data.y_train[rows])
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), rows)
    return (*evaluate(params, data.x_val, data.y_val), *evaluate(params, data.x_test, data.y_test))


# --- the same run, written directly on stacked weights (a leading seed axis) -------------------

def _stacked_logits(params, x):
    hidden = jax.nn.relu(jnp.einsum("sbi,sih->sbh", x, params["w1"]) + params["b1"][:, None])
    return jnp.einsum("sbh,sho->sbo", hidden, params["w2"]) + params["b2"][:, None]


def _stacked_loss(params, x, y):
    """The sum over seeds of each seed's mean cross-entropy: its gradient with respect to one
    seed's weights is that seed's own gradient."""
    ce = optax.softmax_cross_entropy_with_integer_labels(_stacked_logits(params, x), y)
    return ce.mean(axis=1).sum()


def train_batched(seeds, rows, learning_rate, weight_decay, data, hidden):
    """train_one for a chunk of seeds at once; rows: (seeds, steps, batch)."""
    params = jax.vmap(lambda s: init(jax.random.key(s), hidden))(seeds)
    schedule = optax.cosine_decay_schedule(learning_rate, decay_steps=rows.shape[1])
    opt = optax.adamw(schedule, weight_decay=weight_decay)

    def step(carry, rows):  # rows: (seeds, batch)
        params, state = carry
        grads = jax.grad(_stacked_loss)(params, data.x_train[rows], data.y_train[rows])
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), jnp.swapaxes(rows, 0, 1))
    out_val = jax.vmap(evaluate, in_axes=(0, None, None))(params, data.x_val, data.y_val)
    out_test = jax.vmap(evaluate, in_axes=(0, None, None))(params, data.x_test, data.y_test)
    return (*out_val, *out_test)


# --- the formulations: compiled once per network width (and per chunk shape) ---------------

@lru_cache(maxsize=None)
def compiled(one, method: str, hidden: int):
    """A run of `one` (train_one, or another function of the same arguments) compiled for a
    formulation: one seed ("loop") or a chunk of seeds ("vmap"; "batched" is train_batched)."""
    if method == "loop":
        return jax.jit(partial(one, hidden=hidden))
    if method == "vmap":
        return jax.jit(jax.vmap(partial(one, hidden=hidden), in_axes=(0, 0, None, None, None)))
    if one is not train_one:
        raise SeedsError("the batched formulation is written for train_one only")
    return jax.jit(partial(train_batched, hidden=hidden))


def over_seeds(one, seeds: np.ndarray, config: Config, method: str, chunk: int) -> list:
    """Run `one` for every seed in the formulation `method`, a chunk of seeds per call (the
    last chunk padded with the last seed); its outputs as arrays, one value per seed."""
    fn = compiled(one, method, config.hidden)
    d = data()
    lr, wd = jnp.float32(config.learning_rate), jnp.float32(config.weight_decay)
    size = 1 if method == "loop" else min(chunk, len(seeds))
    padded = np.concatenate([seeds, np.full(-len(seeds) % size, seeds[-1], np.int32)])
    out = []
    for part in padded.reshape(-1, size):  # the host draws the next order while XLA trains
        rows = np.stack([minibatches(s, config.batch, config.steps) for s in part])
        if method == "loop":
            out.append(fn(jnp.int32(part[0]), jnp.asarray(rows[0]), lr, wd, d))
        else:
            out.append(fn(jnp.asarray(part), jnp.asarray(rows), lr, wd, d))
    n_out = len(out[0]) if isinstance(out[0], tuple) else 1
    out = [o if isinstance(o, tuple) else (o,) for o in out]
    return [np.concatenate([np.atleast_1d(np.asarray(o[i])) for o in out])[:len(seeds)]
            .astype(np.float64) for i in range(n_out)]


def check_seeds(seeds) -> np.ndarray:
    """The seeds as a 1-D int array of whole numbers from 0 to MAX_SEED; SeedsError if not."""
    arr = np.asarray(list(seeds) if not isinstance(seeds, np.ndarray) else seeds)
    if arr.ndim != 1 or arr.size == 0:
        raise SeedsError(f"seeds must be a non-empty list of whole numbers, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise SeedsError(f"seeds must be whole numbers, got {arr[:3].tolist()}...")
    bad = arr[(arr < 0) | (arr > MAX_SEED)]
    if bad.size:
        raise SeedsError(f"seeds must be from 0 to {MAX_SEED:,}, got {int(bad[0]):,}")
    return arr.astype(np.int32)


def train(seeds, config: Config = Config(), *, method: str = DEFAULT_METHOD,
          chunk: int = DEFAULT_CHUNK) -> dict[str, np.ndarray]:
    """Train the network once per seed with `config`; a dict of arrays (one value per seed):
    seed, val_loss, val_acc, test_loss, test_acc. The same seed gives the same run whatever the
    method, the chunk, or the other seeds in the call, to float32 rounding: XLA may round the
    last bit differently for a seed at another place in a vectorised chunk."""
    seeds = check_seeds(seeds)
    if not isinstance(config, Config):
        raise SeedsError(f"config must be a pragmatic.seeds.Config, got {type(config).__name__}")
    if method not in METHODS:
        raise SeedsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise SeedsError(f"chunk must be a whole number >= 1, got {chunk!r}")
    stacked = over_seeds(train_one, seeds, config, method, chunk)
    return {"seed": seeds.astype(np.int64), **dict(zip(METRICS, stacked))}


# --- lab 9's experiment: the baseline over many seeds, and a ladder of learning rates ----------

BASELINE = Config(learning_rate=0.04)
LR_FACTOR = 1.2  # one rung of the agent's learning-rate ladder
RUNGS = 2  # rungs on each side of the baseline
QUOTE = 0.0004  # "Changing random seed from 42→137 improved by 0.0004"


def ladder(base: Config = BASELINE, rungs: int = RUNGS, factor: float = LR_FACTOR) -> list:
    """The configurations the agent can reach: the baseline's learning rate times factor**k,
    k = -rungs, ..., rungs (the baseline is in the middle, at index `rungs`)."""
    return [replace(base, learning_rate=base.learning_rate * factor**k)
            for k in range(-rungs, rungs + 1)]


def experiment(reps: int, pool: int | None = None, base: Config = BASELINE,
               **train_kw) -> dict:
    """The baseline on seeds 0 .. reps-1, and every rung of the ladder on seeds 0 .. pool-1
    (pool = reps // 4 by default): `grid[metric]` has shape (rungs, pool), row `base_index` the
    baseline's first pool seeds (not trained twice)."""
    pool = pool or max(reps // 4, 2)
    if pool > reps:
        raise SeedsError(f"pool must be at most reps ({reps:,}), got {pool!r}")
    configs = ladder(base)
    baseline = train(range(reps), base, **train_kw)
    grid = {m: np.empty((len(configs), pool)) for m in METRICS}
    for i, config in enumerate(configs):
        runs = baseline if i == RUNGS else train(range(pool), config, **train_kw)
        for m in METRICS:
            grid[m][i] = runs[m][:pool]
    return {"baseline": baseline, "grid": grid, "base_index": RUNGS, "pool": pool,
            "learning_rates": np.array([c.learning_rate for c in configs])}


# --- the agent: propose, train, keep whatever lowers the validation loss -----------------------

KINDS = ("cosmetic", "seed", "learning rate")
K_EVAL, T_CRIT = 5, 2.0  # the disciplined agent: evaluation seeds, and standard errors to clear
COVERAGE_DRAWS = 4_000  # draws of k seeds behind a coverage
SHARES = (0.4, 0.3, 0.3)  # how often the agent proposes each kind of change


def propose(rng, kind, config, seed, n_configs, pool):
    """The agent's next (config, seed) for each run: a cosmetic change keeps both (the same
    computation, so the same result); a seed change draws another seed; a learning-rate change
    moves one rung up or down the ladder (back from its ends) and keeps the seed."""
    step = rng.choice([-1, 1], size=config.shape)
    step = np.where((config + step < 0) | (config + step >= n_configs), -step, step)
    other_seed = (seed + 1 + rng.integers(pool - 1, size=seed.shape)) % pool
    return (np.where(kind == 2, config + step, config),
            np.where(kind == 1, other_seed, seed))


def accept(current, candidate, floor=0.0):
    """The agent's rule: keep the change when the validation loss went down (by more than the
    noise floor, if there is one)."""
    return candidate < current - floor


def agent(grid: dict, runs: int = 2_000, proposals: int = 80, seed: int = 0,
          start_seed: int | None = None, base_index: int = RUNGS, floor: float = 0.0,
          select: str = "val_loss", k: int = 1, t_crit: float | None = None,
          trace: bool = False) -> dict:
    """`runs` independent agents, each making `proposals` proposals from (baseline, start_seed).

    k = 1: every proposal is one training run, kept by `accept` on the `select` metric.
    k > 1: the disciplined agent. It scores a configuration by its mean over k evaluation seeds,
    the same for every proposal (paired); a seed or cosmetic change leaves the recipe, and so the
    score, unchanged; a change is kept when the mean paired difference is below -floor and, with
    t_crit, when it is more than t_crit of its standard errors below zero.

    Returns per-run arrays: the selected, validation and test scores of the start and the final
    state, the recipes' mean validation and test loss over all pool seeds (their "true" loss),
    and the proposals and acceptances of each kind (and accepted learning-rate changes whose
    true test loss is higher: harmful ones)."""
    if select not in METRICS:
        raise SeedsError(f"select must be one of {', '.join(METRICS)}, got {select!r}")
    n_configs, pool = grid["val_loss"].shape
    if start_seed is not None and not 0 <= start_seed < pool:
        raise SeedsError(f"start_seed must be a pool seed, 0 to {pool - 1}, got {start_seed!r}")
    if not 1 <= k <= pool:
        raise SeedsError(f"k must be from 1 to the pool's {pool} seeds, got {k!r}")
    rng = np.random.default_rng(seed)
    true_val, true_test = grid["val_loss"].mean(axis=1), grid["test_loss"].mean(axis=1)
    eval_seeds = np.argsort(rng.random((runs, pool)), axis=1)[:, :k]  # distinct seeds
    if start_seed is not None:
        eval_seeds[:, 0] = start_seed

    def score(metric, config, seeds):
        return grid[metric][config[:, None], seeds].mean(axis=1)

    config = np.full(runs, base_index)
    start = {m: score(m, config, eval_seeds) for m in ("val_loss", "test_loss", select)}
    counts = {f"{what}_{kind}": np.zeros(runs, int) for what in ("proposed", "accepted")
              for kind in KINDS}
    counts["accepted_harmful"] = np.zeros(runs, int)
    traces = []

    def record():
        traces.append([score(m, config, eval_seeds).mean() for m in ("val_loss", "test_loss")]
                      + [true_test[config].mean()])

    record()
    for _ in range(proposals):
        kind = rng.choice(len(KINDS), p=SHARES, size=runs)
        if k == 1:
            new_config, new_seed = propose(rng, kind, config, eval_seeds[:, 0], n_configs, pool)
            cur = grid[select][config, eval_seeds[:, 0]]
            new = grid[select][new_config, new_seed]
            keep = accept(cur, new, floor)
            eval_seeds[:, 0] = np.where(keep, new_seed, eval_seeds[:, 0])
        else:
            new_config, _ = propose(rng, kind, config, eval_seeds[:, 0], n_configs, pool)
            diffs = grid[select][new_config[:, None], eval_seeds] - grid[select][config[:, None],
                                                                                 eval_seeds]
            mean = diffs.mean(axis=1)
            keep = accept(0.0, mean, floor)
            if t_crit is not None:
                se = diffs.std(axis=1, ddof=1) / math.sqrt(k)
                keep &= mean < -t_crit * se
            keep &= new_config != config  # a seed or cosmetic change: the same recipe
        harmful = keep & (kind == 2) & (true_test[new_config] > true_test[config])
        for i, name in enumerate(KINDS):
            counts[f"proposed_{name}"] += kind == i
            counts[f"accepted_{name}"] += keep & (kind == i)
        counts["accepted_harmful"] += harmful
        config = np.where(keep, new_config, config)
        if trace:
            record()
    final = {m: score(m, config, eval_seeds) for m in ("val_loss", "test_loss", select)}
    return {"start_selected": start[select], "final_selected": final[select],
            "start_val": start["val_loss"], "final_val": final["val_loss"],
            "start_test": start["test_loss"], "final_test": final["test_loss"],
            "start_true_val": true_val[np.full(runs, base_index)],
            "final_true_val": true_val[config], "start_true_test": true_test[base_index]
            + np.zeros(runs), "final_true_test": true_test[config], "final_config": config,
            **counts, **({"trace": np.array(traces)} if trace else {})}


def mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def agent_summary(result: dict) -> dict:
    """Each agent's progress (start minus final, so that a lower loss is progress) on the
    validation score it selected on, on the test set, and in the recipe's true test loss; the
    share of null proposals (cosmetic and seed changes) it kept; each as (mean, Monte Carlo SE)
    over the independent agent runs."""
    null_kept = result["accepted_cosmetic"] + result["accepted_seed"]
    null_made = result["proposed_cosmetic"] + result["proposed_seed"]
    return {
        "selected_progress": mean_se(result["start_selected"] - result["final_selected"]),
        "val_progress": mean_se(result["start_val"] - result["final_val"]),
        "test_progress": mean_se(result["start_test"] - result["final_test"]),
        "true_progress": mean_se(result["start_true_test"] - result["final_true_test"]),
        "val_optimism": mean_se(result["final_true_val"] - result["final_val"]),
        "null_accept_rate": mean_se(null_kept / np.maximum(null_made, 1)),
        "seed_accept_rate": mean_se(result["accepted_seed"]
                                    / np.maximum(result["proposed_seed"], 1)),
        "kept_null": mean_se(null_kept), "kept_seed": mean_se(result["accepted_seed"]),
        "kept_real": mean_se(result["accepted_learning rate"]),
        "kept_harmful": mean_se(result["accepted_harmful"]),
    }


# --- the table's own uncertainty ----------------------------------------------------------------

TABLE_DRAWS, TABLE_AGENTS = 40, 500  # bootstrap tables, and agents run on each


def resample_seeds(grid: dict, rng) -> dict:
    """One bootstrap table: the pool's seeds drawn with replacement, the same draw for every
    configuration (so that a seed's runs stay paired across configurations)."""
    pool = grid["val_loss"].shape[1]
    cols = rng.integers(pool, size=pool)
    return {m: v[:, cols] for m, v in grid.items()}


def table_spread(grid: dict, agents: dict, draws: int = TABLE_DRAWS, runs: int = TABLE_AGENTS,
                 proposals: int = 80, seed: int = 0) -> dict:
    """How much the agents' results would move with another table of training runs.

    The agents resample a finite table: every run they make is one of the pool's seeds, and an
    agent's final run is one of the few seeds that came out lucky. The Monte Carlo SE over agents
    is conditional on that table. Here each of `draws` bootstrap tables (`resample_seeds`) is
    given to every agent in `agents` (name -> keyword arguments of `agent`), and each result's
    `agent_summary` means are kept: {name: {key: array of `draws` values}}. Their standard
    deviation is the table's standard error (it also holds a little Monte Carlo error, so it errs
    on the wide side)."""
    rng = np.random.default_rng(seed)
    out = {name: {} for name in agents}
    for _ in range(draws):
        table = resample_seeds(grid, rng)
        for name, kw in agents.items():
            s = agent_summary(agent(table, runs=runs, proposals=proposals, seed=seed + 1, **kw))
            for key, (mean, _) in s.items():
                out[name].setdefault(key, []).append(mean)
    return {name: {k: np.array(v) for k, v in d.items()} for name, d in out.items()}


def table_se(spread: dict, name: str, key: str) -> float:
    """The table's standard error of one agent's summary mean, from `table_spread`."""
    return float(np.std(spread[name][key], ddof=1))


# --- the remedies ---------------------------------------------------------------------------------

def paired(grid: dict, a: int, b: int, metric: str = "val_loss", pair: bool = True) -> dict:
    """Configuration b against a on the pool's seeds: the differences b - a seed by seed
    (pair=True) or with b's seeds in another order (pair=False: two independent samples), their
    standard deviation, and the correlation between a's and b's runs."""
    x, y = grid[metric][a], grid[metric][b]
    if not pair:
        y = y[np.random.default_rng(0).permutation(len(y))]
    d = y - x
    return {"diff": d, "mean": float(d.mean()), "sd": float(d.std(ddof=1)),
            "corr": float(np.corrcoef(x, y)[0, 1]), "n": len(d)}


def interval_coverage(values, k: int, draws: int = COVERAGE_DRAWS, level: float = 0.95,
                      seed: int = 0) -> dict:
    """The t-interval for the mean from k seeds drawn (without replacement) from `values`, whose
    own mean is the target: its coverage over `draws` draws, and its median width."""
    from scipy import stats
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = values[np.argsort(rng.random((draws, len(values))), axis=1)[:, :k]]
    centre, half = picks.mean(axis=1), (stats.t.ppf((1 + level) / 2, k - 1)
                                        * picks.std(axis=1, ddof=1) / math.sqrt(k))
    covered = np.abs(centre - values.mean()) <= half
    cov = float(covered.mean())
    return {"k": k, "coverage": cov, "mc_se": math.sqrt(cov * (1 - cov) / draws),
            "median_width": float(np.median(2 * half)),
            "miss_low": float((centre + half < values.mean()).mean()),
            "miss_high": float((centre - half > values.mean()).mean())}


def seeds_needed(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Runs per arm for a two-sided z-test at level alpha to detect a mean difference delta with
    the given power, when one run's difference has standard deviation sd: ((z + z) sd / delta)^2."""
    from scipy import stats
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float((z * sd / delta) ** 2)


# --- the findings, as checks with Monte Carlo tolerances --------------------------------------

def _claim(claim: str, estimate: float, se: float, **kw) -> dict:
    from .sim.checks import _finding
    return _finding(claim, estimate, max(se, 1e-15), **kw)


def spread_findings(baseline: dict, quote: float = QUOTE) -> list[dict]:
    """The seed moves the result, the quoted improvement is small against its spread, and the
    test loss follows the validation loss only part of the way (regression to the mean)."""
    v = baseline["val_loss"]
    sd = float(v.std(ddof=1))
    sd_se = sd / math.sqrt(2 * (len(v) - 1))
    slope, slope_se = val_test_slope(baseline)
    return [_claim("one seed to the next moves the validation loss: its SD across seeds exceeds "
                   f"{quote} (the quoted improvement)", sd - quote, sd_se, above=0),
            _claim(f"an improvement of {quote} is less than a tenth of the seed SD of the "
                   "validation loss", 0.1 * sd - quote, 0.1 * sd_se, above=0),
            _claim("over seeds, the test loss moves less than the validation loss: the slope of "
                   "test on validation loss is below 1 (regression to the mean)",
                   1 - slope, slope_se, above=0)]


def val_test_slope(baseline: dict) -> tuple[float, float]:
    """The least-squares slope of the test loss on the validation loss over seeds, and its
    standard error: how much of a seed's luck on the validation set shows on the test set, in
    the loss's own units (correlation times SD(test) / SD(validation)). NaN without spread."""
    x, y = np.asarray(baseline["val_loss"], float), np.asarray(baseline["test_loss"], float)
    sxx = float(((x - x.mean()) ** 2).sum())
    if sxx == 0 or len(x) < 3:
        return math.nan, math.nan
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / sxx)
    resid = y - y.mean() - slope * (x - x.mean())
    return slope, float(math.sqrt((resid ** 2).sum() / (len(x) - 2) / sxx))


def agent_findings(naive: dict, floored: dict, disciplined: dict,
                   spread: dict | None = None) -> list[dict]:
    """The naive agent ratchets on noise; the noise floor and the disciplined agent do not.

    Each claim's standard error is its Monte Carlo one over the independent agents, combined
    with the table's when `spread` is given (`table_spread`, with the agents named "naive",
    "floored" and "disciplined"): the agents resample one finite table of training runs, and a
    fresh table would move every estimate."""
    n, f = agent_summary(naive), agent_summary(floored)
    reported = naive["start_val"] - naive["final_val"]  # what the agent reports
    true = naive["start_true_test"] - naive["final_true_test"]
    optimism_n = mean_se(naive["final_true_val"] - naive["final_val"])
    optimism_d = mean_se(disciplined["final_true_val"] - disciplined["final_val"])
    null_n, null_f = n["null_accept_rate"], f["null_accept_rate"]
    claims = [  # (claim, (estimate, Monte Carlo SE), the same estimate from table_spread)
        ("the naive agent reports progress on the validation set", mean_se(reported),
         lambda t: t["naive"]["val_progress"]),
        ("the naive agent keeps null changes (cosmetic or seed)", n["kept_null"],
         lambda t: t["naive"]["kept_null"]),
        ("its recipe's true progress is less than a tenth of its validation progress "
         "(winner's curse)", mean_se(0.1 * reported - true),
         lambda t: 0.1 * t["naive"]["val_progress"] - t["naive"]["true_progress"]),
        ("its final validation loss is below its recipe's mean over seeds (optimism)",
         optimism_n, lambda t: t["naive"]["val_optimism"]),
        ("a noise floor lowers the share of null changes kept",
         (null_n[0] - null_f[0], math.hypot(null_n[1], null_f[1])),
         lambda t: t["naive"]["null_accept_rate"] - t["floored"]["null_accept_rate"]),
        ("with the noise floor, fewer than 1 % of null changes are kept (the naive agent keeps "
         "more)", (0.01 - null_f[0], null_f[1]),
         lambda t: 0.01 - t["floored"]["null_accept_rate"]),
        ("the disciplined agent's optimism is less than a tenth of the naive agent's",
         (optimism_n[0] / 10 - optimism_d[0], math.hypot(optimism_n[1] / 10, optimism_d[1])),
         lambda t: t["naive"]["val_optimism"] / 10 - t["disciplined"]["val_optimism"]),
    ]
    out = []
    for text, (estimate, mc_se), from_table in claims:
        table = 0.0 if spread is None else float(np.std(from_table(spread), ddof=1))
        out.append(_claim(text, estimate, math.hypot(mc_se, table), above=0))
    return out


def paired_findings(grid: dict, a: int, b: int) -> list[dict]:
    """Runs of two configurations on the same seeds are correlated, so pairing them on the seed
    shrinks the variance of the comparison."""
    p = paired(grid, a, b)
    r = p["corr"]
    return [_claim("runs of two learning rates on the same seed are positively correlated "
                   "(pairing on seeds reduces the variance of a comparison)",
                   r, (1 - r**2) / math.sqrt(p["n"] - 1), above=0)]


def interval_findings(baseline: dict, k: int = K_EVAL, level: float = 0.95) -> list[dict]:
    c = interval_coverage(baseline["val_loss"], k, level=level)
    return [_claim(f"the t-interval from {k} seeds covers the mean over all seeds about "
                   f"{level:.0%} of the time", c["coverage"], c["mc_se"], within=level)]


# --- command line -------------------------------------------------------------------------------

def _parser():
    from .cli import OneLineParser
    from .sim.cli import _whole
    p = OneLineParser(prog="python -m pragmatic.seeds",
                      description="Train lab 9's network on the digits once per seed and "
                                  "summarise (or save) the validation and test loss and accuracy.")
    p.add_argument("--seeds", type=_whole(1), default=100, help="how many seeds (default 100)")
    p.add_argument("--first-seed", type=_whole(0), default=0,
                   help="the seeds are first-seed, first-seed + 1, ... (default 0)")
    defaults = Config()
    for name, kind in (("hidden", _whole(1)), ("batch", _whole(1)), ("steps", _whole(1)),
                       ("learning-rate", float), ("weight-decay", float)):
        p.add_argument(f"--{name}", type=kind, default=getattr(defaults, name.replace("-", "_")),
                       help=f"default {getattr(defaults, name.replace('-', '_'))}")
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD)
    p.add_argument("--chunk", type=_whole(1), default=DEFAULT_CHUNK)
    p.add_argument("--out", help="save every run's metrics to this .npz file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def summary(runs: dict) -> dict:
    return {m: {"mean": float(np.mean(runs[m])), "sd": float(np.std(runs[m], ddof=1))
                if len(runs[m]) > 1 else None, "min": float(np.min(runs[m])),
                "max": float(np.max(runs[m]))} for m in METRICS}


def main(argv=None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.out and not args.out.endswith(".npz"):
        p.error(f"--out must name a .npz file, got {args.out!r}")
    if args.first_seed + args.seeds - 1 > MAX_SEED:
        p.error(f"the seeds must end at or below {MAX_SEED:,}; got --first-seed "
                f"{args.first_seed} with --seeds {args.seeds}")
    try:
        config = Config(args.hidden, args.batch, args.steps, args.learning_rate, args.weight_decay)
    except SeedsError as err:
        p.error(str(err))
    t0 = time.perf_counter()
    runs = train(range(args.first_seed, args.first_seed + args.seeds), config,
                 method=args.method, chunk=args.chunk)
    seconds = time.perf_counter() - t0
    if args.out:
        np.savez(args.out, **runs, config=json.dumps(asdict(config)))
    out = {"config": asdict(config), "seeds": args.seeds, "first_seed": args.first_seed,
           "method": args.method, "chunk": args.chunk, "seconds": seconds, **summary(runs)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.seeds:,} seeds from {args.first_seed} with {asdict(config)} "
              f"({args.method}, {seconds:.1f} s):")
        for m in METRICS:
            s = out[m]
            sd = "-" if s["sd"] is None else f"{s['sd']:.5f}"
            print(f"  {m:9s} mean {s['mean']:.5f}  sd {sd}  min {s['min']:.5f}  "
                  f"max {s['max']:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
