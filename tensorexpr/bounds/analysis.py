"""The analysis plan of one network: everything derived from it that several questions reuse.

A bound on one partition needs structure that does not depend on the partition: the network's facts
(operator, tree, read-once modes), its tensor hypergraph and hypertree, the orbit tables of its tied weights,
the specialization witness, the integer instance the instance-rank bounds use. :class:`Analysis` owns those,
computes each on first use and keeps it for its own lifetime, in the spirit of opt_einsum's
``ContractExpression`` (plan once, evaluate many). There is no module-level cache anywhere: a profile or a
report makes one ``Analysis`` per network and passes it to :func:`~tensorexpr.certify` for every partition
(docs/design.md, "The analysis plan").

>>> import tensorexpr as te
>>> a = te.analyze(te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0))
>>> [te.certify(a, P).certified for P in (te.Partition.odd_even(8), te.Partition.left_right(8))]
[True, True]
>>> a.fact("product") is None
True
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.facts import FACTS, Fact, check_fact, mode_multiplicity, tree_matches
from tensorexpr.core.network import Network

__all__ = ["Analysis", "analyze", "analysis_of"]

T = TypeVar("T")


class Analysis:
    """What is derived from one :class:`~tensorexpr.core.network.Network`, computed once, on demand.

    Parameters
    ----------
    net : Network
        Networks are frozen, so anything computed from ``net`` stays valid for this object's life.

    Raises
    ------
    NetworkError
        When ``net`` is not a :class:`Network`.

    Notes
    -----
    Bound modules ask for their structure with :meth:`derived` under a key they own (a tuple starting with
    the module's name); a :class:`~tensorexpr.core.errors.NotApplicable` raised while computing is
    remembered and raised again, since it is a fact of the network too.
    """

    __slots__ = ("_net", "_memo")

    def __init__(self, net: Network) -> None:
        if not isinstance(net, Network):
            raise NetworkError(f"te.analyze needs a te.Network, got {type(net).__name__}. "
                               f"Hint: te.convac(tree, M, widths).")
        self._net = net
        self._memo: dict[Hashable, Any] = {}

    @property
    def net(self) -> Network:
        """The network analysed."""
        return self._net

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` on the first call for ``key``, the stored result afterwards.

        Parameters
        ----------
        key : hashable
            Names the derived object, e.g. ``("mincut.hypergraph", output)``.
        compute : callable
            Takes no argument (close over the network).

        Returns
        -------
        object
            What ``compute`` returned.

        Raises
        ------
        NotApplicable
            Again on every call when ``compute`` raised it.
        """
        try:
            hit = self._memo[key]
        except KeyError:
            try:
                hit = compute()
            except NotApplicable as exc:
                hit = exc
            self._memo[key] = hit
        if isinstance(hit, NotApplicable):
            raise hit
        return hit

    def fact(self, need: str | Fact) -> str | None:
        """None when the fact (a key of :data:`~tensorexpr.core.facts.FACTS` or a ``Fact``) holds, else why not.

        Parameters
        ----------
        need : str or Fact
            A key of :data:`~tensorexpr.core.facts.FACTS` or a :class:`~tensorexpr.core.facts.Fact`.

        Returns
        -------
        str or None
            None when it holds, else the reason; computed once per fact and kept.

        Raises
        ------
        NetworkError
            For an unknown key.
        """
        key = ("fact", need if isinstance(need, str) else need)
        return self.derived(key, lambda: self._check_fact(need))

    def _check_fact(self, need: str | Fact) -> str | None:
        # Two facts are functions of structures this plan derives anyway (the tree match, the mode
        # multiplicities): read them here instead of walking the network a second time.
        if need == "mode-tree":
            return None if self.tree_matches else FACTS["mode-tree"].why(self._net)
        if need == "modes-read-once":
            if all(k == 1 for k in self.derived(("multiplicity",), lambda: mode_multiplicity(self._net)).values()):
                return None
            return FACTS["modes-read-once"].why(self._net)
        return check_fact(self._net, need)

    def facts(self) -> dict[str, Any]:
        """Every built-in fact: True, or the reason it fails (as certificates record them).

        Returns
        -------
        dict of str to True or str
            Per key of :data:`~tensorexpr.core.facts.FACTS`, in its order.
        """
        return {k: (True if (why := self.fact(k)) is None else why) for k in FACTS}

    @property
    def mode_multiplicity(self) -> dict[int, int | None]:
        """:func:`~tensorexpr.core.facts.mode_multiplicity` of the network (a copy)."""
        return dict(self.derived(("multiplicity",), lambda: mode_multiplicity(self._net)))

    @property
    def tree_matches(self) -> bool:
        """:func:`~tensorexpr.core.facts.tree_matches` of the network."""
        return self.derived(("tree-matches",), lambda: tree_matches(self._net))

    def __repr__(self) -> str:
        return f"Analysis({self._net.name}, {len(self._memo)} derived)"


def analyze(net: Network) -> Analysis:
    """The analysis plan of ``net``: pass it to :func:`~tensorexpr.certify`, :func:`~tensorexpr.profile` or a
    bound instead of the network to reuse what is derived from it across partitions.

    Parameters
    ----------
    net : Network

    Returns
    -------
    Analysis

    Raises
    ------
    NetworkError
        When ``net`` is not a network.
    """
    return Analysis(net)


def analysis_of(net_or_analysis: Network | Analysis, analysis: Analysis | None = None) -> Analysis:
    """The :class:`Analysis` to use: the one given (checked to be of this network) or a fresh one.

    Parameters
    ----------
    net_or_analysis : Network or Analysis
        The network, or an analysis of it.
    analysis : Analysis, optional
        An analysis to reuse; it must be of the same network object.

    Returns
    -------
    Analysis

    Raises
    ------
    NetworkError
        When neither argument is a network or an analysis, or ``analysis`` is of another network.
    """
    if isinstance(net_or_analysis, Analysis):
        net_or_analysis, analysis = net_or_analysis.net, analysis or net_or_analysis
    if analysis is None:
        return Analysis(net_or_analysis)
    if not isinstance(analysis, Analysis):
        raise NetworkError(f"analysis= must be a te.Analysis (te.analyze(net)), got {type(analysis).__name__}.")
    if analysis.net is not net_or_analysis:
        raise NetworkError(f"analysis= is the plan of {analysis.net.name}, not of {getattr(net_or_analysis, 'name', '?')}. "
                           f"Hint: te.analyze(net) once per network.")
    return analysis
