"""Search spaces of sec_what_is_hpo: the kind of each domain, sampling it from scratch (in its
range, on its scale), and what a search space may not be. No framework is trained here."""
import math
import random

import numpy as np
import pytest
from syne_tune.config_space import (Float, choice, finrange, logfinrange, logordinal,
                                    loguniform, lograndint, ordinal, randint, uniform)

from d2l import hpo

N = 4000  # Draws per domain; the statistical checks run at fixed seeds.
KS_CRITICAL = 1.628 / math.sqrt(N)  # Kolmogorov-Smirnov, 1% level.


def draws(domain, seed=0, n=N):
    kind = hpo.domain_kind('x', domain)
    rng = random.Random(seed)
    return [hpo.sample_value(kind, domain, rng) for _ in range(n)]


def ks_distance_from_uniform(u):
    """Largest distance between the empirical CDF of `u` (values in [0, 1]) and the uniform
    CDF: the Kolmogorov-Smirnov statistic."""
    u, n = np.sort(u), len(u)
    return max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))


@pytest.mark.parametrize('domain, kind', [
    (uniform(0, 0.5), 'uniform'), (loguniform(1e-5, 1e-1), 'loguniform'),
    (randint(8, 128), 'randint'), (lograndint(16, 512), 'lograndint'),
    (choice(['sgd', 'adam']), 'choice'), (9, 'constant'), ('sgd', 'constant'),
    (0.5, 'constant'), (None, 'constant')])
def test_domain_kinds(domain, kind):
    assert hpo.domain_kind('x', domain) == kind


def test_uniform_is_in_range_and_uniform():
    values = np.array(draws(uniform(0.2, 0.7)))
    assert all(isinstance(v, float) for v in values)
    assert values.min() >= 0.2 and values.max() <= 0.7
    assert ks_distance_from_uniform((values - 0.2) / 0.5) < KS_CRITICAL


def test_loguniform_has_a_uniform_logarithm():
    lower, upper = 1e-5, 1e-1
    values = np.array(draws(loguniform(lower, upper)))
    assert values.min() >= lower and values.max() <= upper
    logs = (np.log(values) - math.log(lower)) / (math.log(upper) - math.log(lower))
    assert ks_distance_from_uniform(logs) < KS_CRITICAL
    # The test tells the scales apart: the values themselves are far from uniform, and so
    # is the logarithm of uniform draws.
    assert ks_distance_from_uniform((values - lower) / (upper - lower)) > 5 * KS_CRITICAL
    linear = np.array(draws(uniform(lower, upper)))
    logs = (np.log(linear) - math.log(lower)) / (math.log(upper) - math.log(lower))
    assert ks_distance_from_uniform(logs) > 5 * KS_CRITICAL


def test_randint_includes_both_bounds_evenly():
    values = draws(randint(3, 7))
    assert all(type(v) is int for v in values)
    counts = np.bincount(values, minlength=8)[3:]
    assert set(values) == {3, 4, 5, 6, 7} and counts.sum() == N
    # Each of the 5 values within 5 standard deviations of N / 5.
    sd = math.sqrt(N * 0.2 * 0.8)
    assert np.all(np.abs(counts - N / 5) < 5 * sd), counts


def test_lograndint_follows_the_log_scale():
    lower, upper = 1, 100
    values = np.array(draws(lograndint(lower, upper)))
    assert all(type(v) is int for v in values.tolist())
    assert values.min() >= lower and values.max() <= upper
    # round(exp(U)) <= k exactly when exp(U) < k + 1/2, for U uniform between the logarithms
    # of the bounds.
    ks = np.arange(lower, upper)
    cdf = (np.log(ks + 0.5) - math.log(lower)) / (math.log(upper) - math.log(lower))
    empirical = np.array([(values <= k).mean() for k in ks])
    assert np.max(np.abs(empirical - cdf)) < KS_CRITICAL
    assert (values <= 10).mean() > 0.45  # Half the draws below the geometric mean.


def test_choice_returns_each_category_evenly():
    categories = ['sgd', 'adam', 'rmsprop']
    values = draws(choice(categories))
    assert set(values) == set(categories)
    sd = math.sqrt(N / 3 * 2 / 3)
    for c in categories:
        assert abs(values.count(c) - N / 3) < 5 * sd


def test_constants_are_carried_as_they_are():
    space = {'learning_rate': loguniform(1e-5, 1e-1), 'max_epochs': 9, 'optimizer': 'sgd'}
    rng = random.Random(0)
    for _ in range(20):
        config = hpo.sample_config(space, rng)
        assert list(config) == list(space)
        assert config['max_epochs'] == 9 and config['optimizer'] == 'sgd'


def test_same_seed_same_configurations():
    space = {'learning_rate': loguniform(1e-5, 1e-1), 'batch_size': randint(8, 128),
             'optimizer': choice(['sgd', 'adam']), 'max_epochs': 1}

    def configs(seed):
        rng = random.Random(seed)
        return [hpo.sample_config(space, rng) for _ in range(10)]
    assert configs(3) == configs(3)
    assert configs(3) != configs(4)


@pytest.mark.parametrize('domain', [
    finrange(0, 1, 5), logfinrange(1, 100, 3), ordinal([1, 2, 4]), logordinal([1, 2, 4]),
    uniform(0, 1).quantized(0.25), Float(0, 0.5).reverseloguniform(), Float(0, 1).normal()])
def test_unknown_domain_types(domain):
    with pytest.raises(ValueError, match=r"config_space\['lr'\] is .*allowed are uniform, "
                                         r"loguniform, randint, lograndint, choice or a "
                                         r"constant"):
        hpo.check_config_space({'lr': domain, 'batch_size': randint(8, 128)})


@pytest.mark.parametrize('space, message', [
    ({}, 'config_space must be a non-empty dict'),
    ([loguniform(1e-5, 1e-1)], 'config_space must be a non-empty dict'),
    (None, 'config_space must be a non-empty dict'),
    ({'max_epochs': 9, 'batch_size': 64}, 'has no domain to sample')])
def test_empty_search_spaces(space, message):
    with pytest.raises(ValueError, match=message):
        hpo.check_config_space(space)
    with pytest.raises(ValueError, match=message):
        hpo.RandomSearcher(space)
    with pytest.raises(ValueError, match=message):
        hpo.random_search(lambda **config: 0.5, space, num_trials=1)
