"""A/B tests and bandits on a simulator of the synthetic shop, where the truth is known.

``simulator`` rebuilds the generator's world and adds recommendation slates whose click and
purchase probabilities follow the generator's own behaviour model; ``arms`` are the slate
policies; ``population`` is an A/B experiment's users with exact truth; ``ab``, ``power`` and
``cuped`` are the statistics; ``contexts``, ``environment``, ``bandits`` and ``offpolicy`` the
contextual bandits and their offline evaluation; ``figures`` and ``report`` serve notebook 11.
"""
