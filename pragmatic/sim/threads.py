"""Lab 03's threads: a simulated, Moltbook-like comment section, and intervals for a mean.

Everything here is simulated. Agents write posts and comments. Each agent's activity and each
post's popularity is a Pareto draw (heavy tails: a few agents write much of the text, a few
posts draw much of the discussion); each comment picks its author and its post in proportion to
them, and a share of the comments are exact copies of viral templates. The outcome is whether a
comment gets a reply: a probit with an author effect and a post effect, so that comments by one
agent, and comments on one post, are correlated,

    gets a reply  <=>  m(copy) + a_author + b_post + e > 0,
    a ~ N(0, author_sd^2), b ~ N(0, post_sd^2), e ~ N(0, 1),

with m(copy) set so that a template copy gets a reply with probability `copy_reply` and any other
comment with p_original = (reply - duplicates copy_reply) / (1 - duplicates): a comment gets a
reply with probability `reply`, the target. Dropping the copies (`dedup`) changes the target to
p_original. The sizes default to those Holtz (2026) reports for Moltbook's first 3.5 days; the
other settings are the course's choices, not estimates.

Every interval is mean -/+ z se, and each standard error is statsmodels'
OLS(y, ones).fit(cov_type=..., use_t=False) on the same data: `naive` (nonrobust), `post` and
`author` (cov_type="cluster" with those groups), `two-way` (groups = both columns:
V_post + V_author - V_pair, each with its own G/(G - 1); Cameron, Gelbach and Miller 2011).
It is NumPy, not a JAX scenario: the pair clusters need a sort, which NumPy does several times
faster than XLA on a CPU. Replication i draws from np.random.default_rng([seed, i]), so a result
does not depend on how many replications are run at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

PROCEDURES = ("naive", "post", "author", "two-way")


@dataclass(frozen=True)
class World:
    """The theoretical world of the threads. Sizes: Holtz (2026), Moltbook's first 3.5 days."""

    agents: int = 6_159
    posts: int = 13_875
    comments: int = 115_031
    templates: int = 200          # viral templates that the copies copy
    activity: float = 1.7         # Pareto shape of the agents' activity
    popularity: float = 1.7       # Pareto shape of the posts' (and templates') popularity
    author_sd: float = 0.5        # sd of the author effect, probit scale
    post_sd: float = 0.7          # sd of the post effect, probit scale
    duplicates: float = 0.341     # share of comments that copy a viral template
    reply: float = 0.065          # probability that a comment gets a reply
    copy_reply: float = 0.02      # ... that a template copy gets one

    @property
    def original_reply(self) -> float:
        """The probability that a comment that is not a copy gets a reply."""
        return (self.reply - self.duplicates * self.copy_reply) / (1 - self.duplicates)

    def target(self, dedup: bool = False) -> float:
        return self.original_reply if dedup else self.reply


def pick(rng, weights, size, shuffle=True):
    """`size` independent draws of 0 ... len(weights) - 1, each with probability proportional
    to its weight: multinomial counts, then (if `shuffle`) put in a random order. Comments are
    exchangeable, so one of two independent assignments may stay sorted."""
    ids = np.repeat(np.arange(len(weights)), rng.multinomial(size, weights / weights.sum()))
    return rng.permutation(ids) if shuffle else ids


def draw(rng, w: World) -> dict:
    """One comment section, as arrays with one entry per comment: its author, its post, the
    template it copies (-1: none) and whether it gets a reply (1) or not (0)."""
    activity = rng.pareto(w.activity, w.agents) + 1  # Pareto with minimum 1
    popularity = rng.pareto(w.popularity, w.posts) + 1
    author = pick(rng, activity, w.comments, shuffle=False)  # sorted by author
    post = pick(rng, popularity, w.comments)
    copy = rng.random(w.comments) < w.duplicates
    template = np.full(w.comments, -1)
    template[copy] = pick(rng, rng.pareto(w.popularity, w.templates) + 1, copy.sum())
    scale = math.sqrt(1 + w.author_sd**2 + w.post_sd**2)
    m = scale * np.where(copy, stats.norm.ppf(w.copy_reply), stats.norm.ppf(w.original_reply))
    latent = (m + w.author_sd * rng.standard_normal(w.agents)[author]
              + w.post_sd * rng.standard_normal(w.posts)[post]
              + rng.standard_normal(w.comments))
    return {"author": author, "post": post, "template": template,
            "reply": (latent > 0).astype(float)}


def cluster_variance(resid, groups):
    """statsmodels' one-way cluster-robust (CRV1) variance of a mean:
    G/(G - 1) * sum over clusters of (sum of the cluster's residuals)^2 / n^2."""
    sums = np.bincount(groups, weights=resid)
    clusters = np.count_nonzero(np.bincount(groups))
    return clusters / (clusters - 1) * np.sum(sums * sums) / len(resid) ** 2


def standard_errors(y, post, author) -> tuple[float, dict]:
    """The mean of y and its four standard errors."""
    n = len(y)
    resid = y - y.mean()
    v_post, v_author = cluster_variance(resid, post), cluster_variance(resid, author)
    pair = np.unique(author * (post.max() + 1) + post, return_inverse=True)[1]
    v_both = v_post + v_author - cluster_variance(resid, pair)  # two-way, CGM (2011)
    return y.mean(), {"naive": math.sqrt(np.sum(resid * resid) / (n - 1) / n),
                      "post": math.sqrt(v_post), "author": math.sqrt(v_author),
                      # negative only in freak data; then 0: a zero-width interval
                      "two-way": math.sqrt(max(v_both, 0.0))}


def analyse(data: dict, keep=None) -> tuple[float, dict, dict]:
    """The mean of the kept comments, its four standard errors, and what else the lab reports."""
    y, post, author = (data[c] if keep is None else data[c][keep]
                       for c in ("reply", "post", "author"))
    mean, se = standard_errors(y, post, author)
    extra = {"effective_n": len(y) * (se["naive"] / se["two-way"]) ** 2, "kept": len(y),
             "top_agent_share": np.bincount(author).max() / len(y)}
    return mean, se, extra


def replicate(rng, w: World) -> dict:
    """One dataset, analysed twice: every comment, and the originals (template copies dropped)."""
    data = draw(rng, w)
    return {False: analyse(data), True: analyse(data, keep=data["template"] < 0)}


def _summary(lower, upper, target) -> dict:
    """The engine's scores for one procedure (quartiles exact, from every width)."""
    reps = len(lower)
    width = upper - lower
    share = lambda hits: (hits.mean(), math.sqrt(hits.mean() * (1 - hits.mean()) / reps))
    coverage, mc_se = share((lower <= target) & (target <= upper))
    (miss_low, low_se), (miss_high, high_se) = share(upper < target), share(lower > target)
    q25, median, q75 = np.quantile(width, [0.25, 0.5, 0.75])
    return {"coverage": coverage, "mc_se": mc_se, "miss_low": miss_low, "miss_low_mc_se": low_se,
            "miss_high": miss_high, "miss_high_mc_se": high_se, "mean_width": width.mean(),
            "width_mc_se": width.std(ddof=1) / math.sqrt(reps) if reps > 1 else math.nan,
            "width_q25": q25, "width_median": median, "width_q75": q75,
            "degenerate_reps": int(np.count_nonzero(width == 0))}


def simulate(w: World, reps: int, seed: int, level: float = 0.95) -> list[dict]:
    """Coverage and width of the four intervals over `reps` datasets, each analysed with every
    comment (dedup 0) and with the template copies dropped (dedup 1): two results, each with the
    extras' means and their Monte Carlo standard errors."""
    z = stats.norm.ppf((1 + level) / 2)
    runs = [replicate(np.random.default_rng([seed, i]), w) for i in range(reps)]
    results = []
    for dedup in (False, True):
        target = w.target(dedup)
        means = np.array([run[dedup][0] for run in runs])
        ses = pd.DataFrame([run[dedup][1] for run in runs])
        extras = pd.DataFrame([run[dedup][2] for run in runs])
        extra = {}
        for name, values in extras.items():
            extra[name] = values.mean()
            extra[f"{name}_mc_se"] = values.std(ddof=1) / math.sqrt(reps)
        results.append({
            "scenario": "threads", "n": w.comments, "params": {**asdict(w), "dedup": int(dedup)},
            "target": target, "reps": reps, "seed": seed, "level": level,
            "procedures": list(PROCEDURES),
            "results": {p: _summary(means - z * ses[p].to_numpy(), means + z * ses[p].to_numpy(),
                                    target) for p in PROCEDURES},
            "extra": extra})
    return results


def table(results: list[dict], experiment: str = "threads") -> pd.DataFrame:
    """Results as rows like `lab_results`'s: one per setting and procedure."""
    return pd.DataFrame([{"experiment": experiment, "scenario": r["scenario"], **r["params"],
                          "observations": r["n"], "procedure": name, "target": r["target"],
                          "reps": r["reps"], **scores, **r["extra"]}
                         for r in results for name, scores in r["results"].items()])


def world(**changes) -> World:
    return replace(World(), **changes)
