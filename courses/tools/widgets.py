"""Widget code shared by the French and Arabic versions of each lesson.

Each constant is the body of a hidden code cell. Texts the pupil reads come from a dict ``L``
defined just before (see :func:`cell`), so one piece of code serves every language. Plot
labels stay in formulas and symbols (left-to-right in every language).
"""

SETUP = r'''
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as W
from IPython.display import HTML, display
plt.rcParams.update({"figure.figsize": (8.5, 3.4), "figure.dpi": 80, "axes.grid": True})
DIR = "{dir}"

def say(text):
    """Show a sentence under the plot, in the lesson's direction."""
    display(HTML(f'<div dir="{{DIR}}" style="font-size:1.05em">{{text}}</div>'))
'''


def setup(lang: str) -> str:
    return SETUP.replace("{dir}", "rtl" if lang == "ar" else "ltr").replace("{{", "{").replace(
        "}}", "}")


def cell(body: str, labels: dict) -> str:
    return f"L = {labels!r}\n" + body.strip("\n")


SUITES = r'''
def suite(a=0.5, b=3.0, u0=1.0, N=15):
    u = [u0]
    for _ in range(N):
        u.append(a * u[-1] + b)
    u = np.array(u)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    ax1.plot(range(N + 1), u, "o", ms=4)
    ax1.set_xlabel("$n$"); ax1.set_ylabel("$u_n$")
    fixed = None if abs(a - 1) < 1e-9 else b / (1 - a)
    if fixed is not None and abs(fixed) < 1e3:
        ax1.axhline(fixed, color="C3", ls="--", label=r"$\ell=\frac{b}{1-a}$")
        ax1.legend()
    # toile d'araignée : y = a x + b et y = x
    seen = np.clip(u, -50, 50)
    lo, hi = min(seen.min(), 0) - 1, max(seen.max(), 0) + 1
    x = np.linspace(lo, hi, 50)
    ax2.plot(x, a * x + b, label="$y=ax+b$")
    ax2.plot(x, x, "k", lw=0.8, label="$y=x$")
    px, py = [seen[0]], [lo]
    for k in range(min(N, 30)):
        px += [seen[k], seen[k + 1]]
        py += [seen[k + 1], seen[k + 1]]
    ax2.plot(px, py, "C3", lw=0.9)
    ax2.set_xlim(lo, hi); ax2.set_ylim(lo, hi); ax2.legend(loc="upper left")
    plt.show()
    if fixed is None:
        say(L["arith"])
    elif abs(a) < 1:
        say(L["conv"].format(l=fixed))
    elif abs(u0 - fixed) < 1e-12:
        say(L["const"])
    else:
        say(L["div"])

W.interact(suite,
           a=W.FloatSlider(value=0.5, min=-1.5, max=1.5, step=0.05, description="a",
                           continuous_update=False),
           b=W.FloatSlider(value=3.0, min=-5, max=5, step=0.5, description="b",
                           continuous_update=False),
           u0=W.FloatSlider(value=1.0, min=-10, max=10, step=0.5, description="u₀",
                            continuous_update=False),
           N=W.IntSlider(value=15, min=5, max=40, description="N", continuous_update=False));
'''

DICHOTOMIE = r'''
f = lambda x: x**3 + x - 1

def dichotomie(etapes=0):
    a, b = 0.0, 1.0
    for _ in range(etapes):
        m = (a + b) / 2
        if f(a) * f(m) <= 0:
            b = m
        else:
            a = m
    x = np.linspace(-0.2, 1.2, 200)
    fig, ax = plt.subplots()
    ax.plot(x, f(x), label="$f(x)=x^3+x-1$")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvspan(a, b, color="C1", alpha=0.3, label=f"[{a:.6f} ; {b:.6f}]")
    ax.legend(loc="upper left")
    plt.show()
    say(L["step"].format(k=etapes, a=a, b=b, w=b - a))

W.interact(dichotomie, etapes=W.IntSlider(value=0, min=0, max=20, description=L["n"],
                                          continuous_update=False));
'''

LIMITE = r'''
g = lambda x: (np.sqrt(1 + x) - 1) / x

def approche(exposant=1):
    h = 10.0 ** (-exposant)
    x = np.linspace(-0.9, 2, 400)
    x = x[np.abs(x) > 1e-9]
    fig, ax = plt.subplots()
    ax.plot(x, g(x), label=r"$g(x)=\frac{\sqrt{1+x}-1}{x}$")
    ax.plot([-h, h], [g(-h), g(h)], "o", color="C3")
    ax.plot(0, 0.5, "o", mfc="white", color="k")
    ax.legend()
    plt.show()
    say(L["vals"].format(h=h, gm=g(-h), gp=g(h)))

W.interact(approche, exposant=W.IntSlider(value=1, min=0, max=7, description="k (h=10⁻ᵏ)",
                                          continuous_update=False));
'''

TANGENTE = r'''
FONCTIONS = {
    "x³ − 3x + 1": (lambda x: x**3 - 3 * x + 1, lambda x: 3 * x**2 - 3, (-2.5, 2.5)),
    "x·e⁻ˣ": (lambda x: x * np.exp(-x), lambda x: (1 - x) * np.exp(-x), (-1, 5)),
    "ln(x)/x": (lambda x: np.log(x) / x, lambda x: (1 - np.log(x)) / x**2, (0.3, 8)),
}

def tangente(fonction="x³ − 3x + 1", t=0.5):
    f, df, (lo, hi) = FONCTIONS[fonction]
    a = lo + t * (hi - lo)
    x = np.linspace(lo, hi, 300)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    ax1.plot(x, f(x), label="$C_f$")
    ax1.plot(x, df(a) * (x - a) + f(a), "C3--", label=L["tan"])
    ax1.plot(a, f(a), "o", color="C3")
    span = f(x).max() - f(x).min()
    ax1.set_ylim(f(x).min() - 0.2 * span, f(x).max() + 0.2 * span)
    ax1.legend(loc="best")
    ax2.plot(x, df(x), "C2", label="$f'(x)$")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.fill_between(x, df(x), 0, where=df(x) > 0, color="C2", alpha=0.2)
    ax2.fill_between(x, df(x), 0, where=df(x) < 0, color="C3", alpha=0.2)
    ax2.plot(a, df(a), "o", color="C3")
    ax2.legend(loc="best")
    plt.show()
    sens = L["up"] if df(a) > 0 else (L["down"] if df(a) < 0 else L["flat"])
    say(L["eq"].format(a=a, fa=f(a), d=df(a), sens=sens))

W.interact(tangente, fonction=W.Dropdown(options=list(FONCTIONS), description="f"),
           t=W.FloatSlider(value=0.5, min=0, max=1, step=0.01, description=L["pos"],
                           readout=False, continuous_update=False));
'''

LOGEXP = r'''
def symetrie(a=2.0):
    x = np.linspace(0.05, 4, 200)
    y = np.linspace(-3, 1.4, 200)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(x, np.log(x), label=r"$y=\ln x$")
    ax.plot(y, np.exp(y), label=r"$y=e^x$")
    ax.plot([-3, 4], [-3, 4], "k:", lw=0.8, label="$y=x$")
    ax.plot([a, np.log(a)], [np.log(a), a], "o--", color="C3")
    ax.set_xlim(-3, 4); ax.set_ylim(-3, 4); ax.set_aspect("equal"); ax.legend(loc="lower right")
    plt.show()
    say(L["sym"].format(a=a, la=np.log(a), s1=1 / a, s2=a))

W.interact(symetrie, a=W.FloatSlider(value=2.0, min=0.1, max=4, step=0.1, description="a",
                                      continuous_update=False));

def croissances(n=3):
    x = np.linspace(0, 40, 400)
    fig, ax = plt.subplots()
    ax.semilogy(x[1:], x[1:] ** n / np.exp(x[1:]), label=rf"$x^{{{n}}}/e^x$")
    ax.semilogy(x[1:], np.log(x[1:]) ** 2 / x[1:] ** 0.5 + 1e-16, label=r"$(\ln x)^2/\sqrt{x}$")
    ax.set_xlabel("$x$"); ax.legend()
    plt.show()
    say(L["cc"].format(n=n, xm=n))

W.interact(croissances, n=W.IntSlider(value=3, min=1, max=12, description="n",
                                      continuous_update=False));
'''

RIEMANN = r'''
FONCTIONS = {
    "x²  sur [0 ; 1]": (lambda x: x**2, 0.0, 1.0, 1 / 3),
    "e⁻ˣ  sur [0 ; 2]": (lambda x: np.exp(-x), 0.0, 2.0, 1 - np.exp(-2)),
    "1/x  sur [1 ; e]": (lambda x: 1 / x, 1.0, np.e, 1.0),
}
METHODES = {L["left"]: 0.0, L["mid"]: 0.5, L["right"]: 1.0}

def rectangles(fonction="x²  sur [0 ; 1]", n=4, methode=L["left"]):
    f, a, b, exact = FONCTIONS[fonction]
    h = (b - a) / n
    xs = a + (np.arange(n) + METHODES[methode]) * h
    somme = h * f(xs).sum()
    x = np.linspace(a, b, 300)
    fig, ax = plt.subplots()
    ax.bar(a + np.arange(n) * h, f(xs), width=h, align="edge", alpha=0.35, edgecolor="C0")
    ax.plot(x, f(x), "C3")
    plt.show()
    say(L["res"].format(n=n, s=somme, i=exact, e=abs(somme - exact)))

W.interact(rectangles, fonction=W.Dropdown(options=list(FONCTIONS), description="f"),
           n=W.IntSlider(value=4, min=1, max=100, description="n", continuous_update=False),
           methode=W.ToggleButtons(options=list(METHODES), description=""));
'''

COMPLEXES = r'''
def plan(r=1.1, theta=30, n=6):
    t = np.radians(theta)
    z = r * np.exp(1j * t)
    pts = z ** np.arange(n + 1)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(pts.real, pts.imag, "o-", color="C0", ms=4, lw=0.6)
    for k, p in enumerate(pts[:8]):
        ax.annotate(f"$z^{{{k}}}$", (p.real, p.imag), textcoords="offset points",
                    xytext=(4, 4))
    ax.plot(z.real, -z.imag, "s", color="C2", label=r"$\bar z$")
    c = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    ax.plot(c.real, c.imag, "k:", lw=0.6)
    m = max(1.5, np.abs(pts).max() * 1.1)
    ax.set_xlim(-m, m); ax.set_ylim(-m, m); ax.set_aspect("equal")
    ax.axhline(0, color="k", lw=0.6); ax.axvline(0, color="k", lw=0.6); ax.legend()
    plt.show()
    say(L["z"].format(a=z.real, b=z.imag, r=r, t=theta, n=n, rn=r**n, tn=(n * theta) % 360))

W.interact(plan, r=W.FloatSlider(value=1.1, min=0.5, max=1.5, step=0.05, description="r",
                                  continuous_update=False),
           theta=W.IntSlider(value=30, min=-180, max=180, step=5, description="θ (°)",
                             continuous_update=False),
           n=W.IntSlider(value=6, min=1, max=24, description="n", continuous_update=False));
'''

BINOMIALE = r'''
from math import comb

def binomiale(n=10, p=0.3, k=3):
    k = min(k, n)
    ks = np.arange(n + 1)
    P = np.array([comb(n, j) * p**j * (1 - p) ** (n - j) for j in ks])
    fig, ax = plt.subplots()
    colors = ["C3" if j == k else ("C1" if j < k else "C0") for j in ks]
    ax.bar(ks, P, color=colors)
    ax.axvline(n * p, color="k", ls="--", lw=0.8, label="$E(X)=np$")
    ax.set_xlabel("$k$"); ax.set_ylabel("$P(X=k)$"); ax.legend()
    plt.show()
    say(L["res"].format(n=n, p=p, k=k, pk=P[k], cum=P[: k + 1].sum(), e=n * p,
                        v=n * p * (1 - p), s=np.sqrt(n * p * (1 - p))))

W.interact(binomiale, n=W.IntSlider(value=10, min=1, max=60, description="n",
                                    continuous_update=False),
           p=W.FloatSlider(value=0.3, min=0, max=1, step=0.05, description="p",
                           continuous_update=False),
           k=W.IntSlider(value=3, min=0, max=60, description="k", continuous_update=False));
'''

EQDIFF = r'''
def premier_ordre(a=-2.0, b=4.0, y0=0.0):
    x = np.linspace(0, 4, 300)
    fig, ax = plt.subplots()
    # champ de directions de y' = a y + b
    X, Y = np.meshgrid(np.linspace(0, 4, 17), np.linspace(-6, 6, 13))
    D = a * Y + b
    N = np.hypot(1, D)
    ax.quiver(X, Y, 1 / N, D / N, angles="xy", color="0.6", width=0.003)
    if abs(a) > 1e-9:
        y = (y0 + b / a) * np.exp(a * x) - b / a
        ax.axhline(-b / a, color="C3", ls="--", lw=0.8, label=r"$y=-\frac{b}{a}$")
    else:
        y = y0 + b * x
    ax.plot(x, y, "C0", lw=2, label="$y(x)$")
    ax.set_ylim(-6, 6); ax.set_xlabel("$x$"); ax.legend(loc="lower right")
    plt.show()
    if abs(a) > 1e-9:
        say(L["sol"].format(C=y0 + b / a, a=a, p=-b / a))
    else:
        say(L["affine"])

W.interact(premier_ordre,
           a=W.FloatSlider(value=-2, min=-3, max=1, step=0.25, description="a",
                           continuous_update=False),
           b=W.FloatSlider(value=4, min=-5, max=5, step=0.5, description="b",
                           continuous_update=False),
           y0=W.FloatSlider(value=0, min=-5, max=5, step=0.5, description="y(0)",
                            continuous_update=False));

def second_ordre(omega=2.0, y0=1.0, v0=0.0):
    x = np.linspace(0, 10, 400)
    y = y0 * np.cos(omega * x) + v0 / omega * np.sin(omega * x)
    fig, ax = plt.subplots()
    ax.plot(x, y)
    ax.set_xlabel("$x$"); ax.set_ylabel("$y$")
    plt.show()
    say(L["osc"].format(A=y0, B=v0 / omega, w=omega, T=2 * np.pi / omega))

W.interact(second_ordre,
           omega=W.FloatSlider(value=2, min=0.5, max=5, step=0.25, description="ω",
                               continuous_update=False),
           y0=W.FloatSlider(value=1, min=-2, max=2, step=0.25, description="y(0)",
                            continuous_update=False),
           v0=W.FloatSlider(value=0, min=-4, max=4, step=0.5, description="y'(0)",
                            continuous_update=False));
'''

RADIOACTIVITE = r'''
def decroissance(N0=1000, demi_vie=8.0, hasard=False):
    lam = np.log(2) / demi_vie
    t = np.linspace(0, 5 * demi_vie, 300)
    fig, ax = plt.subplots()
    ax.plot(t, N0 * np.exp(-lam * t), label=r"$N(t)=N_0e^{-\lambda t}$")
    ax.plot(t, N0 * (1 - lam * t), "C2:", label=L["tan"])
    for k in (1, 2, 3):
        ax.plot(k * demi_vie, N0 / 2**k, "o", color="C3")
        ax.annotate(f"$N_0/{2**k}$", (k * demi_vie, N0 / 2**k), textcoords="offset points",
                    xytext=(5, 5))
    if hasard:  # N0 noyaux, chacun a la probabilité lam*dt de se désintégrer pendant dt
        rng = np.random.default_rng(1)
        dt = t[1] - t[0]
        n, restants = N0, [N0]
        for _ in t[1:]:
            n -= rng.binomial(n, 1 - np.exp(-lam * dt))
            restants.append(n)
        ax.step(t, restants, "C1", where="post", lw=0.9, label=L["sim"])
    ax.set_ylim(0, N0 * 1.05); ax.set_xlabel(L["t"]); ax.legend()
    plt.show()
    say(L["res"].format(lam=lam, tau=1 / lam, t12=demi_vie))

W.interact(decroissance,
           N0=W.IntSlider(value=1000, min=50, max=5000, step=50, description="N₀",
                          continuous_update=False),
           demi_vie=W.FloatSlider(value=8.0, min=1, max=30, step=0.5, description="t½",
                                  continuous_update=False),
           hasard=W.Checkbox(value=False, description=L["chk"]));
'''

RC = r'''
def dipole(R_kohm=2.0, C_uF=5.0, E=6.0, mode=L["charge"]):
    R, C = R_kohm * 1e3, C_uF * 1e-6
    tau = R * C
    t = np.linspace(0, 6 * tau, 300)
    if mode == L["charge"]:
        uc = E * (1 - np.exp(-t / tau)); i = E / R * np.exp(-t / tau)
        tangente = E * t / tau
    else:
        uc = E * np.exp(-t / tau); i = -E / R * np.exp(-t / tau)
        tangente = E * (1 - t / tau)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    ax1.plot(t * 1e3, uc, label="$u_C(t)$")
    ax1.plot(t * 1e3, tangente, "C2:", label=L["tan"])
    ax1.axvline(tau * 1e3, color="C3", ls="--", lw=0.8, label=r"$\tau=RC$")
    ax1.set_ylim(-0.05 * E, 1.1 * E); ax1.set_xlabel("t (ms)"); ax1.set_ylabel("V")
    ax1.legend(loc="center right")
    ax2.plot(t * 1e3, i * 1e3, "C1", label="$i(t)$")
    ax2.set_xlabel("t (ms)"); ax2.set_ylabel("mA"); ax2.legend()
    plt.show()
    say(L["res"].format(tau=tau * 1e3, u=uc[np.searchsorted(t, tau)], W=0.5 * C * E**2 * 1e6))

W.interact(dipole,
           R_kohm=W.FloatSlider(value=2, min=0.5, max=10, step=0.5, description="R (kΩ)",
                                continuous_update=False),
           C_uF=W.FloatSlider(value=5, min=1, max=50, step=1, description="C (µF)",
                              continuous_update=False),
           E=W.FloatSlider(value=6, min=1, max=12, step=0.5, description="E (V)",
                           continuous_update=False),
           mode=W.ToggleButtons(options=[L["charge"], L["decharge"]], description=""));
'''

CHUTE = r'''
g = 9.8

def chute(m_g=20.0, k=0.05, dt=0.05, quadratique=False):
    m = m_g / 1000
    n = int(2.5 / dt)
    t = np.arange(n + 1) * dt
    v = np.zeros(n + 1)
    for i in range(n):  # méthode d'Euler : v(t+dt) = v(t) + a(t)·dt
        frottement = k * v[i] ** 2 if quadratique else k * v[i]
        a = g - frottement / m
        v[i + 1] = v[i] + a * dt
    fig, ax = plt.subplots()
    ax.plot(t, v, "o", ms=3, label="Euler")
    if quadratique:
        vlim = np.sqrt(m * g / k)
        exact = vlim * np.tanh(g * np.linspace(0, t[-1], 300) / vlim)
    else:
        vlim = m * g / k
        exact = vlim * (1 - np.exp(-k * np.linspace(0, t[-1], 300) / m))
    ax.plot(np.linspace(0, t[-1], 300), exact, "C3", label=L["exact"])
    ax.axhline(vlim, color="k", ls="--", lw=0.8, label=r"$v_{lim}$")
    ax.set_xlabel("t (s)"); ax.set_ylabel("v (m/s)"); ax.legend(loc="lower right")
    plt.show()
    tau = vlim / g
    say(L["res"].format(vlim=vlim, tau=tau))

W.interact(chute,
           m_g=W.FloatSlider(value=20, min=5, max=100, step=5, description="m (g)",
                             continuous_update=False),
           k=W.FloatSlider(value=0.05, min=0.01, max=0.3, step=0.01, description="k (SI)",
                           continuous_update=False),
           dt=W.FloatSlider(value=0.05, min=0.005, max=0.3, step=0.005, description="Δt (s)",
                            readout_format=".3f", continuous_update=False),
           quadratique=W.Checkbox(value=False, description="f = k·v²"));
'''

CINETIQUE = r'''
x_max, V = 1.0, 0.100  # mmol, L

def suivi(T=20, t0=10.0):
    k = 0.05 * 2 ** ((T - 20) / 10)  # min⁻¹ : modèle simplifié, k double tous les 10 °C
    t = np.linspace(0, 120, 400)
    x = x_max * (1 - np.exp(-k * t))
    pente = x_max * k * np.exp(-k * t0)  # dx/dt en mmol/min
    t12 = np.log(2) / k
    fig, ax = plt.subplots()
    ax.plot(t, x, label="$x(t)$")
    xt0 = x_max * (1 - np.exp(-k * t0))
    ax.plot(t, xt0 + pente * (t - t0), "C2--", lw=0.9, label=L["tan"])
    ax.plot(t0, xt0, "o", color="C2")
    ax.axhline(x_max / 2, color="C3", ls=":", lw=0.8)
    ax.axvline(t12, color="C3", ls=":", lw=0.8, label=r"$t_{1/2}$")
    ax.set_ylim(0, 1.1 * x_max); ax.set_xlabel("t (min)"); ax.set_ylabel("x (mmol)")
    ax.legend(loc="lower right")
    plt.show()
    say(L["res"].format(t0=t0, v=pente / V, t12=t12))

W.interact(suivi,
           T=W.IntSlider(value=20, min=10, max=50, step=5, description="θ (°C)",
                         continuous_update=False),
           t0=W.FloatSlider(value=10, min=0, max=120, step=2, description="t (min)",
                            continuous_update=False));
'''
