"""The scenario schema: every lever of the model with its default, range, meaning and source.

A scenario file (TOML) holds only what differs from the defaults, or from the scenario it
``extends``. Unknown keys, wrong types and out-of-range values are refused with a
:class:`ScenarioError` that names the file, the key, the value and what is allowed.

The module is longer than the house's ~500 lines for one reason: it declares every lever
(94 here, each with default, bounds, meaning and source), and those declarations are its one
job. The trait tables' 61 levers (one per entry, the community's finance, technical and
authority capability excepted) are declared in :mod:`sim.scenario.traits`.
Reading files is in :mod:`sim.scenario.files`, explaining errors in :mod:`sim.scenario.explain`.

Example:
    >>> s = Scenario.from_dict({"partnership": {"type": "ppp"}})
    >>> s.partnership.type, s.factors.communication
    ('ppp', 0.8)
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.errors import UserError, did_you_mean
from sim.scenario import maps
from sim.scenario.explain import Table, explain, fields_of, sections
from sim.scenario.explain import bounds as declared_bounds
from sim.scenario.interventions import Intervention, check_interventions
from sim.scenario.traits import (
    AuthoritySection,
    CapabilitiesSection,
    PreferencesSection,
    RequirementsSection,
)

__all__ = [
    "PARTNERSHIP_MEMBERS",
    "PARTNERSHIP_TYPES",
    "Scenario",
    "ScenarioError",
    "Table",
    "lever_table",
    "section_fields",
]

PARTNERSHIP_TYPES = ("none", "ppp", "psp", "pmg", "msp")
"""The essay's four partnership types and the no-partnership baseline."""

PartnershipType = Literal["none", "ppp", "psp", "pmg", "msp"]

PARTNERSHIP_MEMBERS: dict[str, tuple[str, ...]] = {
    "none": (),
    "ppp": ("government", "firm"),
    "psp": ("firm", "community"),
    "pmg": ("government", "community"),
    "msp": ("government", "firm", "ngo", "community"),
}
"""Who takes part in each partnership type: organization kinds, and the community."""

_COUNT_OF_KIND = {"government": "governments", "firm": "firms", "ngo": "ngos"}


class ScenarioError(UserError):
    """A scenario (file, dictionary or override) that cannot be used, with a readable reason."""


def _lever(default: Any, meaning: str, source: str = "calibration assumption", **bounds: Any):
    """A schema field carrying its meaning and source for the docs and the error messages."""
    return Field(default, description=meaning, json_schema_extra={"source": source}, **bounds)


class _Section(Table):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class RunSection(_Section):
    """How long and how often to run."""

    steps: int = _lever(120, "number of steps; one step is one month", ge=1, le=100_000)
    replications: int = _lever(
        5, "replications per scenario (common random numbers)", ge=1, le=10_000
    )
    seed: int = _lever(
        20261128, "root seed; replicate seeds come from SeedSequence.spawn", ge=0, le=2**63 - 1
    )
    steps_per_year: int = _lever(
        12, "steps in a year (annual rates are converted with it)", ge=1, le=366
    )


class PopulationSection(_Section):
    """Households and villages."""

    map: str = _lever(
        "",
        "stakeholder map (folder of CSVs or .graphml, relative to the scenario file); when "
        "set, it fixes the villages, households and organizations",
        "input data: the planner's own stakeholder map (docs/policies.md)",
        max_length=4096,
    )
    households: int = _lever(500, "number of households", ge=2, le=20_000_000)
    villages: int = _lever(
        10, "number of villages (communities); at most one per household", ge=1, le=1_000_000
    )
    income_sigma: float = _lever(
        0.575,
        "sd of log income (income is lognormal around income_median)",
        "Indonesian household consumption is close to lognormal (World Bank 2020); value: "
        "posterior mean of the calibration to BPS's rural consumption Gini (0.324, March "
        "2018) and rural poverty rate (12.29%, March 2022), docs/calibration.md",
        ge=0.0,
        le=3.0,
    )
    income_median: float = _lever(
        1.897,
        "median income as a multiple of the poverty line",
        "posterior mean of the calibration to BPS's rural poverty rate (12.29%, March 2022) "
        "and rural consumption Gini (0.324, March 2018), docs/calibration.md",
        gt=0,
        le=100,
    )
    initial_access: float = _lever(0.35, "mean initial access to services", ge=0.0, le=1.0)
    initial_capacity: float = _lever(0.3, "mean initial capacity (skills)", ge=0.0, le=1.0)
    initial_empowerment: float = _lever(0.2, "mean initial empowerment", ge=0.0, le=1.0)
    initial_trust: float = _lever(
        0.5, "mean initial household trust in organizations", ge=0.0, le=1.0
    )
    status_gradient: float = _lever(
        0.5,
        "how strongly initial access, capacity and voice rise with income rank",
        "better-off households have more access and voice (Mansuri & Rao 2013, ch. 5)",
        ge=0.0,
        le=1.0,
    )
    # The social graph carries trust diffusion: at the defaults it shapes how household trust
    # is spread (the output trust_spread), not mean welfare, since take-up is linear in trust.
    ties_within: int = _lever(
        4,
        "social ties per household within its village (Watts–Strogatz k, even); shapes the "
        "spread of household trust (`trust_spread`), not mean welfare (docs/ODD.md 7.14)",
        ge=0,
        le=100,
    )
    rewiring: float = _lever(
        0.1,
        "Watts–Strogatz rewiring probability (within the village); see ties_within",
        ge=0.0,
        le=1.0,
    )
    ties_across: float = _lever(
        0.05,
        "cross-village ties as a multiple of the households (each joins two); see ties_within",
        ge=0.0,
        le=10.0,
    )

    @field_validator("ties_within")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(
                f"must be even (each household gets k/2 ties on each side); got {value}"
            )
        return value


class OrganizationsSection(_Section):
    """The organizations and their resources (per household per step, in welfare units)."""

    governments: int = _lever(1, "number of government agencies", ge=0, le=50)
    firms: int = _lever(3, "number of firms", ge=0, le=200)
    ngos: int = _lever(2, "number of NGOs", ge=0, le=200)
    budget_government: float = _lever(
        0.6, "government programme budget per household", ge=0, le=100
    )
    budget_firm: float = _lever(0.15, "each firm's CSR budget per household", ge=0, le=100)
    budget_ngo: float = _lever(0.15, "each NGO's (donor-funded) budget per household", ge=0, le=100)
    external_government: float = _lever(
        0.0,
        "share of the government's programme budget financed externally (donor loans or "
        "grants); only this part ends at the funding horizon",
        "the government's own budget (APBN/APBD) by default; a donor co-financed programme "
        "sets it: in PNPM-Rural 2008-2011 World Bank loans and IFAD co-financing were 588 of "
        "2,098.7 million US$ of actual costs, 28% (IEG ICR Review P105002, project data)",
        ge=0,
        le=1,
    )
    external_firm: float = _lever(
        0.0,
        "share of each firm's CSR budget financed externally; only this part ends at the "
        "funding horizon",
        "CSR is the firm's own money",
        ge=0,
        le=1,
    )
    external_ngo: float = _lever(
        1.0,
        "share of each NGO's budget financed externally; only this part ends at the funding "
        "horizon",
        "NGO programme budgets are donor-funded (this schema's budget_ngo)",
        ge=0,
        le=1,
    )
    community_inkind: float = _lever(
        0.05,
        "in-kind labour a community brings to a partnership, per household",
        "co-production mobilizes resources otherwise unused (Ostrom 1996, World Dev. 24:1073)",
        ge=0,
        le=100,
    )
    firm_coverage: float = _lever(0.5, "share of villages each firm operates in", gt=0, le=1)
    ngo_coverage: float = _lever(0.5, "share of villages each NGO works in", gt=0, le=1)
    representatives: int = _lever(
        3, "community representatives per village in a partnership", ge=1, le=1000
    )


class PartnershipSection(_Section):
    """Which partnership forms and the rules it runs by."""

    type: PartnershipType = _lever(
        "msp", "partnership type: none, ppp, psp, pmg or msp", "the essay's four patterns"
    )
    commitment: float = _lever(
        0.6,
        "share of resources members promise (solo organizations spend the same share)",
        ge=0.0,
        le=1.0,
    )
    exit_threshold: float = _lever(
        0.3,
        "median tolerance: a member whose mean trust in partners is below it tends to leave",
        "calibration assumption; exit as a logit choice (McFadden 1974)",
        ge=0,
        le=1,
    )
    exit_spread: float = _lever(
        0.03,
        "spread (logistic scale) of members' tolerances around the exit threshold (0 = one "
        "sharp threshold for all)",
        "calibration assumption: tolerances differ across organizations (random-utility "
        "exit, McFadden 1974)",
        ge=0,
        le=1,
    )
    exit_patience: int = _lever(
        12,
        "mean steps a member tolerates distrust before leaving, and steps of negative net "
        "benefit it tolerates",
        "calibration assumption; loyalty delays exit (Hirschman 1970)",
        ge=1,
        le=100_000,
    )
    meeting_cost: float = _lever(
        0.002,
        "resources one communicating pair costs per step, per household (transaction cost)",
        "coordination costs grow with the number of partners (Williamson 1985; Provan & Kenis "
        "2008, JPART 18:229)",
        ge=0,
        le=10,
    )
    miscoordination_cost: float = _lever(
        0.00075,
        "resources a pair of members that did not meet loses per step, per household "
        "(duplication and gaps of uncoordinated work)",
        "calibration assumption: well below the meeting it replaces (Bryson, Crosby & Stone "
        "2006; Provan & Kenis 2008)",
        ge=0,
        le=10,
    )
    capability_pooling: Literal["union", "ces"] = _lever(
        "ces",
        "how members' capabilities combine: 'ces' (a CES mean of the members' capabilities, "
        "see capability_substitutability; at its default the best member's) or 'union' "
        "(independent chances, 1 − Π(1 − C): every member adds to every capability)",
        "Kremer 1993, QJE 108:551 (O-ring: one worker per task, tasks multiply); Hirshleifer "
        "1983, Public Choice 41:371 (best shot); the default is argued in docs/ODD.md 7.6",
    )
    capability_substitutability: float = _lever(
        1.0,
        "with capability_pooling = 'ces': how far members substitute for each other in a "
        "capability; 1 = the best member only, 0 = geometric mean, −1 = perfect complements "
        "(the weakest member); CES exponent ρ = s / (1 − |s|)",
        "Hirshleifer 1983 (best shot, weakest link); Kremer 1993, QJE 108:551 (O-ring); "
        "Cornes & Hartley 2007, JPubE 91:1684 (CES composition)",
        ge=-1.0,
        le=1.0,
    )
    promise_basis: Literal["expected", "full"] = _lever(
        "expected",
        "what a partnership announces to households, who judge it by that: 'expected' (the "
        "pool partners expect from each other's promises, net of coordination) or 'full' "
        "(every promise fulfilled, no coordination cost)",
        "expectancy disconfirmation: Van Ryzin 2006, JPART 16:599; Zhang et al. 2022, PAR "
        "82:147 (meta-analysis); docs/ODD.md 7.7",
    )
    funding_horizon: int = _lever(
        0,
        "step after which external programme funding ends (0 = never); organizations' own "
        "budgets continue (organizations.external_*)",
        ge=0,
        le=100_000,
    )
    funding_after: float = _lever(
        0.2, "share of external funding that remains after the funding horizon", ge=0, le=1
    )


class FactorsSection(_Section):
    """The essay's five success factors."""

    goal_clarity: float = _lever(
        0.8,
        "clarity of goals and roles: how close partners' views start, and role clarity",
        "essay; Ansell & Gash 2008; Bryson et al. 2006",
        ge=0.0,
        le=1.0,
    )
    power_balance: float = _lever(
        0.7,
        "how far the partnership's rules equalize decision weights (0 = raw power)",
        "essay; Purdy 2012, PAR 72:409",
        ge=0.0,
        le=1.0,
    )
    communication: float = _lever(
        0.8,
        "quality of communication channels between partners",
        "essay; Ansell & Gash 2008 (face-to-face dialogue)",
        ge=0.0,
        le=1.0,
    )
    trust: float = _lever(
        0.7,
        "initial trust among partners, the community's representatives included (prehistory)",
        "essay; Ansell & Gash 2008 (prehistory); Vangen & Huxham 2003",
        ge=0.0,
        le=1.0,
    )
    evaluation_interval: int = _lever(
        12,
        "steps between joint evaluations (0 = never)",
        "essay; Emerson et al. 2012 (joint learning)",
        ge=0,
        le=100_000,
    )


class AccountabilitySection(_Section):
    """Leakage; checks upward (audits, evaluations) and downward (households); sanctions; costs."""

    base_leakage: float = _lever(
        0.35,
        "share of pooled funds lost with no role clarity, audits or monitoring",
        "Olken 2007, JPE 115:200 (about 28% missing in the control group)",
        ge=0.0,
        le=1.0,
    )
    audit_probability: float = _lever(
        0.04,
        "probability that the programme is audited in an audit round (one round every "
        "audit_interval steps; at most one audit a round)",
        "Olken 2007: 4% of projects audited at baseline, 100% in the treatment",
        ge=0.0,
        le=1.0,
    )
    audit_interval: int = _lever(
        12,
        "steps between audit rounds (12: one round per project year; 3: quarterly)",
        "Olken 2007 (one audit of each project)",
        ge=1,
        le=100_000,
    )
    audit_cost: float = _lever(
        0.1,
        "resources one audit costs the audited programme, per household it serves (about 2% of "
        "a year's joint spending at the defaults)",
        "calibration assumption, below Olken 2007's bound: the 8-point cut in missing "
        "expenditures was 'more than enough to make these audits cost-effective'",
        ge=0,
        le=100,
    )
    evaluation_detection: float = _lever(
        0.6,
        "probability that one joint evaluation detects a member's shortfall",
        ge=0.0,
        le=1.0,
    )
    detection_basis: Literal["per_unit", "carried"] = _lever(
        "per_unit",
        "what a check does to the shortfalls it misses, and so how members reckon detection: "
        "'per_unit' (every audit or evaluation closes the books, found or not: each unit "
        "withheld is examined once, by the next check) or 'carried' (a missed shortfall stays "
        "on the books until a check finds it: repeated checks compound); identical at yearly "
        "evaluations and audit rounds",
        "Becker 1968, JPE 76:169 (deterrence turns on the probability that an offence is "
        "punished); Olken 2007, JPE 115:200 (audit probability per project: 4% of projects "
        "to 100%); the default is argued in docs/ODD.md 7.15",
    )
    evaluation_cost: float = _lever(
        0.05,
        "resources one joint evaluation costs the partnership's pool, per household it serves",
        "calibration assumption (could not verify a published cost share)",
        ge=0,
        le=100,
    )
    sanction_fine: float = _lever(
        0.0,
        "fine a detected member pays into the pool, per unit it withheld (1 = restitution)",
        "Becker 1968, JPE 76:169 (deterrence = probability × sanction); 0: contributions to a "
        "voluntary partnership are rarely enforceable (could not verify a rate)",
        ge=0,
        le=100,
    )
    sanction_reputation: float = _lever(
        1.0,
        "share of its partners' trust a detected member loses per unit of shortfall beyond "
        "the members' mean shortfall",
        "Fehr & Gächter 2000, AER 90:980 (free riders punished the more, the further below "
        "the group standard); Ostrom 1990, design principle 5; size a calibration assumption",
        ge=0,
        le=1,
    )
    audit_deterrence: float = _lever(
        0.3,
        "proportional cut in leakage when an audit within the year is certain",
        "Olken 2007: audit probability 4% to 100% cut missing expenditures by about 8 points "
        "of about 28%, i.e. about 30%",
        ge=0.0,
        le=1.0,
    )
    role_clarity_effect: float = _lever(
        0.25, "proportional cut in leakage at fully clear roles", ge=0.0, le=1.0
    )
    labour_share: float = _lever(
        0.25,
        "share of spending households see without disclosure (the wages paid to them)",
        "Olken 2007: materials are three quarters of expenditures; villagers' monitoring cut "
        "missing wages only",
        ge=0.0,
        le=1.0,
    )
    disclosure: float = _lever(
        0.0,
        "share of the rest (materials, transfers) that the programme discloses to households",
        "Reinikka & Svensson 2005, JEEA 3:259 (published grants: capture fell from 80% to "
        "under 20%)",
        ge=0.0,
        le=1.0,
    )
    social_audit: float = _lever(
        0.0,
        "share of the households not already taking part that social audits (invitations to "
        "accountability meetings) bring into monitoring",
        "Olken 2007 (invitations to accountability meetings)",
        ge=0.0,
        le=1.0,
    )
    grassroots_effect: float = _lever(
        0.3,
        "proportional cut in the leakage households can see, at full monitoring in a village",
        "Olken 2007: grassroots monitoring weak (free-riding); Björkman & Svensson 2009",
        ge=0.0,
        le=1.0,
    )
    free_riding_size: float = _lever(
        25.0,
        "village size at which free-riding halves grassroots monitoring",
        "Olson 1965, The Logic of Collective Action",
        gt=0,
        le=1_000_000,
    )
    participation_time_cost: float = _lever(
        0.01,
        "households' time a month of monitoring costs each taking part (resource units)",
        "calibration assumption",
        ge=0,
        le=100,
    )
    capture_propensity: float = _lever(
        0.5,
        "share of benefits steered by status when the community has no voice",
        "Alatas et al. 2013 (NBER 18798); Mansuri & Rao 2004, WBRO 19:1",
        ge=0.0,
        le=1.0,
    )


class DynamicsSection(_Section):
    """Rates of the behavioural submodels."""

    trust_gain: float = _lever(
        0.05, "trust gain rate γ⁺ (per step)", "Slovic 1993: trust builds slowly", ge=0, le=1
    )
    trust_loss: float = _lever(
        0.2, "trust loss rate γ⁻ (per step)", "Slovic 1993: trust breaks fast", ge=0, le=1
    )
    susceptibility: float = _lever(
        0.7,
        "Friedkin–Johnsen susceptibility λ to partners' views",
        "Friedkin & Johnsen 1990",
        ge=0,
        le=1,
    )
    self_weight: float = _lever(1.0, "weight a partner gives its own view", gt=0, le=1000)
    view_spread: float = _lever(
        1.0, "range of initial views when goals are wholly unclear", ge=0, le=1
    )
    conditional_slope: float = _lever(
        0.75,
        "slope ρ of conditional cooperation",
        "Fischbacher, Gächter & Fehr 2001 (average slope below 1)",
        ge=0,
        lt=1,
    )
    motivation_weights: tuple[float, float, float, float, float] = _lever(
        (0.35, 0.25, 0.2, 0.2, 1.0),
        "weights of trust, shared understanding, the expected sanction (deterrence), dialogue "
        "and unfairness in the motivation to contribute",
        "Balliet 2010; Fehr & Gächter 2000; Becker 1968; Fehr & Schmidt 1999",
    )

    @field_validator("motivation_weights")
    @classmethod
    def _non_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 <= w <= 100 for w in value):  # NaN fails both comparisons
            raise ValueError(f"weights must be numbers in [0, 100]; got {list(value)}")
        return value

    procedural_weight: float = _lever(
        0.25,
        "weight of procedural unfairness (a say below an equal share) in perceived unfairness",
        "Thibaut & Walker 1975; Lind & Tyler 1988 (voice effect); Ansell & Gash 2008",
        ge=0,
        le=1,
    )
    realign_rate: float = _lever(0.5, "how far evaluation re-aligns goal anchors", ge=0, le=1)
    learning_rate: float = _lever(
        0.3, "how far evaluation shifts effort toward what worked", ge=0, le=1
    )
    repair_rate: float = _lever(
        0.5, "share of an explained trust gap that evaluation repairs", ge=0, le=1
    )
    household_diffusion: float = _lever(
        0.1,
        "weight of neighbours' trust in a household's update; shapes the spread of household "
        "trust (`trust_spread`), not mean welfare: take-up is linear in trust (docs/ODD.md 7.14)",
        ge=0,
        le=1,
    )
    understanding_floor: float = _lever(
        0.3, "delivery efficiency with no shared understanding", ge=0, le=1
    )
    power_authority: float = _lever(
        0.4, "weight of formal authority in decision power", ge=0, le=100
    )
    power_resources: float = _lever(0.4, "weight of resources contributed", ge=0, le=100)
    power_legitimacy: float = _lever(
        0.2, "weight of legitimacy (community empowerment)", ge=0, le=100
    )


class WelfareSection(_Section):
    """How services become welfare."""

    access_efficiency: float = _lever(
        0.3, "dose efficiency of access services (health, education, infrastructure)", ge=0, le=100
    )
    capacity_efficiency: float = _lever(0.2, "dose efficiency of training", ge=0, le=100)
    empowerment_efficiency: float = _lever(
        0.08,
        "dose efficiency of participation (institutions change slowly)",
        "Casey, Glennerster & Miguel 2012, QJE 127:1755",
        ge=0,
        le=100,
    )
    participation_dose: float = _lever(
        0.02, "empowerment dose per step from a full community voice in decisions", ge=0, le=1
    )
    takeup_trust: float = _lever(
        0.5,
        "how far households' take-up of health, education and training follows their trust "
        "in the providers: take-up = 1 − θ(1 − trust) (0: everyone takes up all; 1: take-up "
        "equals trust)",
        "calibration assumption (0.5: at no trust half of what is offered is still used); "
        "direction from Blair, Morse & Tsai 2017 (Soc. Sci. Med. "
        "172:89) and Lowes & Montero 2021 (AER 111:1284); slope could not be verified",
        ge=0,
        le=1,
    )
    depreciation: float = _lever(
        0.012, "monthly depreciation of services without maintenance", ge=0, le=1
    )
    maintenance: float = _lever(
        0.5,
        "share of depreciation a fully capable, empowered community offsets",
        "community participation sustains projects (Isham & Kähkönen 2002; Narayan 1995)",
        ge=0,
        le=1,
    )
    om_coverage: float = _lever(
        0.5,
        "share of the access services' depreciation a fully working community O&M body "
        "offsets (routine O&M and minor repairs; major repairs need outside funds)",
        "calibration assumption (form: community management of built assets, Foster 2013)",
        ge=0,
        le=1,
    )
    om_agency: float = _lever(
        0.0,
        "share of the access services' depreciation the owning agencies' recurrent O&M "
        "budgets offset, whoever delivers",
        "calibration assumption: none by default (could not verify a share)",
        ge=0,
        le=1,
    )
    om_formation: float = _lever(
        0.05,
        "monthly rate at which an externally funded partnership with the community builds "
        "the community O&M body (times the community's voice)",
        "calibration assumption (about two years of facilitation to half strength)",
        ge=0,
        le=1,
    )
    om_decay: float = _lever(
        0.05,
        "monthly rate at which the O&M body erodes when no user pays",
        "calibration assumption (form: Foster & Hope 2016, J. Rural Stud. 47:85, non-payment "
        "undermines community O&M)",
        ge=0,
        le=1,
    )
    fee_compliance: float = _lever(
        0.5,
        "share of users who pay their O&M contribution when the service works",
        "calibration assumption; non-payment is prevalent (Foster & Hope 2016, abstract; "
        "rates could not be verified)",
        ge=0,
        le=1,
    )
    return_capacity: float = _lever(0.6, "log-income return to capacity", ge=0, le=5)
    return_infrastructure: float = _lever(0.3, "log-income return to infrastructure", ge=0, le=5)
    deprivation_cutoff: float = _lever(
        0.4, "a household is deprived in a dimension below this", ge=0, le=1
    )
    poverty_k: float = _lever(
        1 / 3, "Alkire–Foster poverty cutoff k (share of weighted deprivations)", gt=0, le=1
    )


class Scenario(BaseModel):
    """A complete, validated scenario: every lever resolved."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = "default"
    description: str = ""
    run: RunSection = RunSection()
    population: PopulationSection = PopulationSection()
    organizations: OrganizationsSection = OrganizationsSection()
    partnership: PartnershipSection = PartnershipSection()
    factors: FactorsSection = FactorsSection()
    accountability: AccountabilitySection = AccountabilitySection()
    dynamics: DynamicsSection = DynamicsSection()
    welfare: WelfareSection = WelfareSection()
    capabilities: CapabilitiesSection = CapabilitiesSection()
    preferences: PreferencesSection = PreferencesSection()
    authority: AuthoritySection = AuthoritySection()
    requirements: RequirementsSection = RequirementsSection()
    interventions: list[Intervention] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        """Rules between levers: every village has a household; every member kind exists."""
        pop, orgs, kind = self.population, self.organizations, self.partnership.type
        if pop.villages > pop.households:
            raise ValueError(
                f"population.villages = {pop.villages} is more than population.households = "
                f"{pop.households}; allowed: villages <= households (each village needs a "
                "household)"
            )
        for member in PARTNERSHIP_MEMBERS[kind]:
            count = _COUNT_OF_KIND.get(member)
            if count is not None and getattr(orgs, count) == 0:
                raise ValueError(
                    f"partnership.type = '{kind}' needs at least one {member}, but "
                    f"organizations.{count} = 0; allowed: organizations.{count} >= 1, or a "
                    f"type without {member}s ({_types_without(member)})"
                )
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> Scenario:
        """Validate a (possibly partial) scenario dictionary; errors name ``source``."""
        try:
            scenario = cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(
                explain(exc, source, Scenario, data, lists=("interventions",))
            ) from None
        if scenario.population.map:
            try:
                scenario = maps.for_scenario(scenario)[0]
            except maps.MapError as exc:  # say which scenario names the map
                raise maps.MapError(f"{source}: population.map: {exc}") from None
            _map_has_members(scenario, source)
        return check_interventions(scenario, source)

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (for manifests and TOML)."""
        return self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any], source: str = "--set") -> Scenario:
        """A copy with dotted-key overrides applied, e.g. ``{"factors.trust": 0.2}``."""
        data = self.to_dict()
        for key, value in overrides.items():
            _set_dotted(data, key, value, source)
        return Scenario.from_dict(data, source)


def _map_has_members(scenario: Scenario, source: str) -> None:
    """The map fixes the organizations: it must hold every kind the partnership type needs."""
    kind, orgs = scenario.partnership.type, scenario.organizations
    for member in PARTNERSHIP_MEMBERS[kind]:
        count = _COUNT_OF_KIND.get(member)
        if count is not None and getattr(orgs, count) == 0:
            raise ScenarioError(
                f"{source}: population.map = {scenario.population.map!r} has no organization "
                f"of type {member}, but partnership.type = '{kind}' needs one; allowed: a map "
                f"with a {member} in nodes.csv, or a type without {member}s "
                f"({_types_without(member)})"
            )


def _types_without(member: str) -> str:
    return ", ".join(t for t, members in PARTNERSHIP_MEMBERS.items() if member not in members)


def section_fields() -> dict[str, list[str]]:
    """The keys of every section of a scenario, e.g. ``{"run": ["steps", ...], ...}``."""
    return sections(Scenario)


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    sections = section_fields()
    if len(parts) == 1 and parts[0] not in ("name", "description"):
        owners = [s for s, fields in sections.items() if parts[0] in fields]
        if len(owners) == 1:
            parts = [owners[0], parts[0]]
    if len(parts) == 2 and parts[0] in sections:
        if parts[1] not in sections[parts[0]]:
            options = [f"{parts[0]}.{k}" for k in sections[parts[0]]]
            raise ScenarioError(
                f"{source}: unknown key '{key}'.{did_you_mean(key, options)} "
                f"Allowed keys in [{parts[0]}]: {', '.join(sections[parts[0]])}"
            )
        data.setdefault(parts[0], {})[parts[1]] = value
    elif len(parts) == 1 and parts[0] in ("name", "description"):
        data[parts[0]] = value
    else:
        all_keys = [f"{s}.{f}" for s, fields in sections.items() for f in fields]
        if len(parts) == 1:  # a bare key: compare it with the bare lever names
            bare = {f: f"{s}.{f}" for s, fields in sections.items() for f in fields}
            close = difflib.get_close_matches(key, list(bare), n=1, cutoff=0.6)
            hint = f" Did you mean '{bare[close[0]]}'?" if close else ""
        else:
            hint = did_you_mean(key, all_keys)
        raise ScenarioError(
            f"{source}: unknown key '{key}'.{hint} Use SECTION.KEY, e.g. factors.communication=0.3."
        )


def lever_table() -> list[dict[str, Any]]:
    """Every lever: section, key, default, bounds, meaning and source (for docs and tests)."""
    return [
        {
            "section": section,
            "key": key,
            "default": field.default,
            "bounds": declared_bounds(field),
            "meaning": field.description,
            "source": (field.json_schema_extra or {}).get("source", ""),
        }
        for section, key, field in fields_of(Scenario)
    ]
