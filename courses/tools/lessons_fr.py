"""French lessons (2e année Bac SM/PC — Terminale spécialité): text, worked example, widgets."""

import widgets as w
from nbtools import code, md

LABELS = {
    "suites": {
        "arith": "a = 1 : suite arithmétique de raison b ; elle diverge si b ≠ 0.",
        "conv": "|a| < 1 : la suite converge vers le point fixe ℓ = b/(1−a) ≈ {l:.4f}, quel que soit u₀.",
        "const": "u₀ = ℓ : la suite est constante.",
        "div": "|a| ≥ 1 et u₀ ≠ ℓ : la suite ne converge pas.",
    },
    "limites-continuite": {
        "n": "étapes",
        "step": "Après {k} étape(s) : α ∈ [{a:.6f} ; {b:.6f}], amplitude {w:.2e} = 1/2^{k}.",
        "vals": "h = {h:g} : g(−h) ≈ {gm:.8f} et g(h) ≈ {gp:.8f} ; la limite en 0 vaut 1/2.",
    },
    "derivation": {
        "tan": "tangente",
        "pos": "point a",
        "up": "f est croissante au voisinage de a",
        "down": "f est décroissante au voisinage de a",
        "flat": "tangente horizontale",
        "eq": "a = {a:.2f} : f(a) ≈ {fa:.3f}, f′(a) ≈ {d:.3f} ; tangente : y = {d:.3f}(x − {a:.2f}) + {fa:.3f} ; {sens}.",
    },
    "log-exp": {
        "sym": "Le point (a ; ln a) = ({a:.2f} ; {la:.3f}) et le point (ln a ; a) sont symétriques par rapport à y = x. Pentes des tangentes : 1/a ≈ {s1:.3f} pour ln, e^(ln a) = a = {s2:.2f} pour exp.",
        "cc": "xⁿ/eˣ croît jusqu'en x = n = {xm} puis tend vers 0 : l'exponentielle l'emporte sur toute puissance.",
    },
    "integrales": {
        "left": "à gauche", "mid": "au milieu", "right": "à droite",
        "res": "n = {n} : somme des aires ≈ {s:.6f} ; intégrale exacte = {i:.6f} ; écart ≈ {e:.2e}.",
    },
    "complexes": {
        "z": "z = {a:.3f} + {b:.3f}i = {r:.2f}·e^(i·{t}°) ; zⁿ a pour module rⁿ ≈ {rn:.3f} et pour argument n·θ ≡ {tn:.0f}° (n = {n}).",
    },
    "probabilites": {
        "res": "X ~ B({n} ; {p:.2f}) : P(X = {k}) ≈ {pk:.4f} ; P(X ≤ {k}) ≈ {cum:.4f} ; E(X) = {e:.2f} ; V(X) = {v:.3f} ; σ(X) ≈ {s:.3f}.",
    },
    "equations-differentielles": {
        "sol": "Solution : y(x) = {C:.2f}·e^({a:.2f}x) + {p:.2f} (constante C = y(0) + b/a).",
        "affine": "a = 0 : y′ = b, la solution est affine : y = y(0) + b·x.",
        "osc": "y(x) = {A:.2f}·cos({w:.2f}x) + {B:.2f}·sin({w:.2f}x) ; période T = 2π/ω ≈ {T:.3f}.",
    },
    "radioactivite": {
        "tan": "tangente à l'origine",
        "sim": "tirage au hasard",
        "t": "t (jours)",
        "chk": "désintégrations au hasard",
        "res": "λ = ln 2 / t½ ≈ {lam:.4f} j⁻¹ ; τ = 1/λ ≈ {tau:.2f} j (la tangente à l'origine coupe l'axe des temps en τ) ; t½ = {t12:.1f} j.",
    },
    "dipole-rc": {
        "charge": "charge", "decharge": "décharge", "tan": "tangente à l'origine",
        "res": "τ = RC ≈ {tau:.2f} ms ; u_C(τ) ≈ {u:.2f} V (63 % ou 37 % de E) ; énergie maximale ½CE² ≈ {W:.1f} µJ.",
    },
    "chute-verticale": {
        "exact": "solution exacte",
        "res": "Vitesse limite v_lim ≈ {vlim:.2f} m/s ; temps caractéristique τ = v_lim/g ≈ {tau:.3f} s. Un pas Δt trop grand rend la méthode d'Euler imprécise.",
    },
    "cinetique-chimique": {
        "tan": "tangente en t",
        "res": "À t = {t0:.0f} min : v = (1/V)·dx/dt ≈ {v:.3f} mmol·L⁻¹·min⁻¹ ; temps de demi-réaction t½ ≈ {t12:.1f} min.",
    },
}


def _widget(lesson_id, body, lang="fr", labels=LABELS):
    return code(w.cell(body, labels[lesson_id]))


def _head(title, chapter, objectives):
    return md(f"""
    # {title}

    *{chapter}* — leçon interactive : lisez, puis faites bouger les curseurs.

    **Objectifs.** {objectives}
    """)


LESSONS = {}

LESSONS["suites"] = [
    _head("Suites numériques", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "reconnaître une suite arithmétique ou géométrique, étudier la convergence d'une "
          "suite récurrente $u_{n+1}=au_n+b$, utiliser le raisonnement par récurrence."),
    md(r"""
    ## L'essentiel

    * **Suite arithmétique** de raison $r$ : $u_{n+1}=u_n+r$, donc $u_n=u_0+nr$ et
      $u_0+u_1+\dots+u_n=(n+1)\dfrac{u_0+u_n}{2}$.
    * **Suite géométrique** de raison $q$ : $u_{n+1}=q\,u_n$, donc $u_n=u_0\,q^n$ et, pour
      $q\neq1$, $u_0+\dots+u_n=u_0\dfrac{1-q^{n+1}}{1-q}$.
    * **Limite de $q^n$** : si $-1<q<1$, $q^n\to0$ ; si $q>1$, $q^n\to+\infty$ ; si $q\le-1$,
      $(q^n)$ n'a pas de limite.
    * Toute suite **croissante et majorée** (ou décroissante et minorée) est **convergente**.
    * Si $u_{n+1}=f(u_n)$, $(u_n)$ converge vers $\ell$ et $f$ est continue en $\ell$, alors
      $f(\ell)=\ell$ : la limite est un **point fixe** de $f$.
    """),
    md(r"""
    ## Exemple résolu

    Soit $(u_n)$ définie par $u_0=1$ et $u_{n+1}=\frac12u_n+3$.

    1. **Majoration, par récurrence.** $u_0=1<6$. Si $u_n<6$ alors $\frac12u_n+3<\frac12\times6+3=6$,
       donc $u_{n+1}<6$. Ainsi $u_n<6$ pour tout $n\in\mathbb N$.
    2. **Monotonie.** $u_{n+1}-u_n=3-\frac12u_n=\frac12(6-u_n)>0$ : la suite est croissante.
       Croissante et majorée par 6, elle converge.
    3. **Suite auxiliaire.** Posons $v_n=u_n-6$. Alors
       $v_{n+1}=\frac12u_n+3-6=\frac12(u_n-6)=\frac12v_n$ : $(v_n)$ est géométrique de raison
       $\frac12$ et de premier terme $v_0=-5$.
    4. **Terme général et limite.** $u_n=6-5\left(\frac12\right)^n$ et, comme
       $0<\frac12<1$, $\lim u_n=6$ — c'est bien le point fixe : $\frac12\ell+3=\ell\iff\ell=6$.
    """),
    md(r"""
    ## À vous de manipuler

    La suite $u_{n+1}=a\,u_n+b$. À gauche, les termes $u_n$ ; à droite, la « toile
    d'araignée » : on monte jusqu'à la droite $y=ax+b$, puis on revient sur $y=x$.
    Essayez $a=0{,}5$ puis $a=-0{,}5$ (la toile s'enroule), puis $a=1{,}2$ (elle s'échappe).
    """),
    code(w.setup("fr")),
    _widget("suites", w.SUITES),
    md(r"""
    ## À retenir

    Pour $u_{n+1}=au_n+b$ avec $a\neq1$ : $v_n=u_n-\ell$ où $\ell=\frac{b}{1-a}$ est
    géométrique de raison $a$. La suite converge (vers $\ell$) si et seulement si $|a|<1$ ou
    $u_0=\ell$.
    """),
]

LESSONS["limites-continuite"] = [
    _head("Limites et continuité", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "lever une forme indéterminée, utiliser le théorème des valeurs intermédiaires, "
          "encadrer une solution par dichotomie."),
    md(r"""
    ## L'essentiel

    * **Formes indéterminées** : $\infty-\infty$, $0\times\infty$, $\frac{\infty}{\infty}$,
      $\frac00$. On les lève en factorisant, en multipliant par la quantité conjuguée ou par
      les croissances comparées.
    * $f$ est **continue en $a$** si $\lim_{x\to a}f(x)=f(a)$. Les fonctions polynômes,
      rationnelles, $\sqrt{\ }$, $\ln$, $\exp$ sont continues sur leur ensemble de définition.
    * **Théorème des valeurs intermédiaires (TVI).** Si $f$ est continue sur $[a;b]$ et
      $f(a)\,f(b)<0$, l'équation $f(x)=0$ admet au moins une solution dans $]a;b[$ ; si de plus
      $f$ est **strictement monotone**, cette solution est **unique**.
    * **Dichotomie** : on coupe l'intervalle en deux et on garde la moitié où $f$ change de
      signe ; après $k$ étapes, l'amplitude est $\frac{b-a}{2^k}$.
    """),
    md(r"""
    ## Exemple résolu

    **Une limite en $0$.** Pour $x\neq0$, $x>-1$ :
    $\dfrac{\sqrt{1+x}-1}{x}=\dfrac{(\sqrt{1+x}-1)(\sqrt{1+x}+1)}{x(\sqrt{1+x}+1)}
    =\dfrac{1}{\sqrt{1+x}+1}\xrightarrow[x\to0]{}\dfrac12$.

    **Une équation.** Soit $f(x)=x^3+x-1$ sur $[0;1]$. $f$ est continue et
    $f'(x)=3x^2+1>0$, donc $f$ est strictement croissante ; $f(0)=-1<0$ et $f(1)=1>0$.
    D'après le TVI, $f(x)=0$ admet une **unique** solution $\alpha\in\,]0;1[$.
    Comme $f(0{,}68)\approx-0{,}0056<0$ et $f(0{,}69)\approx0{,}0185>0$ :
    $0{,}68<\alpha<0{,}69$.
    """),
    md("## À vous de manipuler\n\nFaites avancer la dichotomie : l'intervalle orange contient toujours $\\alpha$."),
    code(w.setup("fr")),
    _widget("limites-continuite", w.DICHOTOMIE),
    md(r"Rapprochez $h$ de $0$ : les valeurs de $g(-h)$ et $g(h)$ se rapprochent de $\frac12$, alors que $g$ n'est pas définie en $0$."),
    _widget("limites-continuite", w.LIMITE),
    md(r"""
    ## À retenir

    Pour montrer qu'une équation $f(x)=0$ a une unique solution dans $]a;b[$, il faut les
    **trois** arguments : continuité, stricte monotonie, changement de signe.
    """),
]

LESSONS["derivation"] = [
    _head("Dérivation et étude de fonctions", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "calculer une dérivée, écrire l'équation d'une tangente, dresser un tableau de "
          "variations."),
    md(r"""
    ## L'essentiel

    * $f$ est **dérivable en $a$** si $\dfrac{f(a+h)-f(a)}{h}$ a une limite finie $f'(a)$
      quand $h\to0$ : c'est la pente de la **tangente** $y=f'(a)(x-a)+f(a)$.
    * Règles : $(uv)'=u'v+uv'$, $\left(\frac uv\right)'=\frac{u'v-uv'}{v^2}$,
      $(u\circ v)'=v'\times u'\circ v$, $(e^u)'=u'e^u$, $(\ln u)'=\frac{u'}{u}$.
    * Sur un intervalle : $f'>0$ (sauf en des points isolés) $\Rightarrow f$ strictement
      croissante ; $f'<0\Rightarrow f$ strictement décroissante.
    * Si $f'$ s'annule **en changeant de signe** en $a$, $f(a)$ est un **extremum local**.
    * Si $f''$ s'annule en changeant de signe en $a$, le point $(a;f(a))$ est un **point
      d'inflexion**.
    """),
    md(r"""
    ## Exemple résolu

    $f(x)=x^3-3x+1$ sur $\mathbb R$. $f'(x)=3x^2-3=3(x-1)(x+1)$.

    | $x$ | $-\infty$ | | $-1$ | | $1$ | | $+\infty$ |
    |---|---|---|---|---|---|---|---|
    | $f'(x)$ | | $+$ | $0$ | $-$ | $0$ | $+$ | |
    | $f$ | $-\infty$ | $\nearrow$ | $3$ | $\searrow$ | $-1$ | $\nearrow$ | $+\infty$ |

    Maximum local $f(-1)=3$, minimum local $f(1)=-1$. Tangente en $0$ : $f(0)=1$,
    $f'(0)=-3$, donc $y=-3x+1$. $f''(x)=6x$ change de signe en $0$ : $(0;1)$ est un point
    d'inflexion.
    """),
    md("## À vous de manipuler\n\nDéplacez le point : la pente de la tangente est la valeur de $f'$ (à droite, en vert quand $f'>0$, en rouge quand $f'<0$)."),
    code(w.setup("fr")),
    _widget("derivation", w.TANGENTE),
    md(r"""
    ## À retenir

    Étudier une fonction : ensemble de définition, limites aux bornes, dérivée et son signe,
    tableau de variations, puis tangentes et points remarquables.
    """),
]

LESSONS["log-exp"] = [
    _head("Logarithme et exponentielle", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "utiliser les propriétés algébriques de $\\ln$ et $\\exp$, résoudre des équations, "
          "connaître les croissances comparées."),
    md(r"""
    ## L'essentiel

    * $\ln$ est définie sur $]0;+\infty[$, $\ln1=0$, $\ln e=1$, $(\ln x)'=\frac1x$ ;
      $\ln(ab)=\ln a+\ln b$, $\ln\frac ab=\ln a-\ln b$, $\ln(a^n)=n\ln a$.
    * $\exp$ est définie sur $\mathbb R$, $e^x>0$, $(e^x)'=e^x$, $e^{a+b}=e^ae^b$.
    * Les deux fonctions sont **réciproques** : $e^{\ln x}=x$ pour $x>0$ et $\ln(e^x)=x$ ;
      leurs courbes sont symétriques par rapport à la droite $y=x$.
    * **Croissances comparées** : $\lim\limits_{x\to+\infty}\frac{e^x}{x^n}=+\infty$,
      $\lim\limits_{x\to+\infty}\frac{\ln x}{x}=0$, $\lim\limits_{x\to-\infty}x^ne^x=0$,
      $\lim\limits_{x\to0^+}x\ln x=0$.
    """),
    md(r"""
    ## Exemples résolus

    1. $e^{2x}-3e^x+2=0$. On pose $X=e^x>0$ : $X^2-3X+2=0$, soit $X=1$ ou $X=2$, donc
       $x=0$ ou $x=\ln2$.
    2. $\ln(2x-1)=\ln(x+2)$. Condition : $x>\frac12$. $\ln$ est strictement croissante,
       donc $2x-1=x+2$, $x=3$ (qui vérifie $3>\frac12$) : $S=\{3\}$.
    """),
    md("## À vous de manipuler"),
    code(w.setup("fr")),
    _widget("log-exp", w.LOGEXP),
    md(r"""
    ## À retenir

    Avant de résoudre une équation avec $\ln$, écrire les **conditions d'existence** ; pour
    une équation en $e^x$, penser au changement d'inconnue $X=e^x>0$.
    """),
]

LESSONS["integrales"] = [
    _head("Calcul intégral", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "calculer une intégrale avec une primitive ou par parties, l'interpréter comme "
          "une aire."),
    md(r"""
    ## L'essentiel

    * Si $F$ est une primitive de $f$ continue sur $[a;b]$ :
      $\displaystyle\int_a^bf(x)\,dx=F(b)-F(a)$.
    * **Linéarité**, **relation de Chasles**, **positivité** : si $f\ge0$ sur $[a;b]$ ($a\le b$)
      alors $\int_a^bf\ge0$.
    * **Aire** : pour $f\ge0$, $\int_a^bf(x)\,dx$ est l'aire (en unités d'aire, u.a.) du domaine
      entre la courbe, l'axe des abscisses et les droites $x=a$, $x=b$.
    * **Intégration par parties** : $\displaystyle\int_a^bu(x)v'(x)\,dx=\big[u(x)v(x)\big]_a^b
      -\int_a^bu'(x)v(x)\,dx$.
    * **Valeur moyenne** de $f$ sur $[a;b]$ : $\mu=\frac1{b-a}\int_a^bf(x)\,dx$.
    """),
    md(r"""
    ## Exemple résolu

    $I=\displaystyle\int_0^1xe^x\,dx$. On pose $u(x)=x$, $v'(x)=e^x$, donc $u'(x)=1$,
    $v(x)=e^x$ :
    $I=\big[xe^x\big]_0^1-\displaystyle\int_0^1e^x\,dx=e-(e-1)=1$.

    Si le repère a pour unité 2 cm sur chaque axe, $1\text{ u.a.}=4\text{ cm}^2$.
    """),
    md(r"""
    ## À vous de manipuler

    L'intégrale est la limite des **sommes de rectangles** (sommes de Riemann) quand le nombre
    $n$ de rectangles augmente.
    """),
    code(w.setup("fr")),
    _widget("integrales", w.RIEMANN),
    md(r"""
    ## À retenir

    Avec $n$ rectangles, l'écart à l'intégrale est de l'ordre de $\frac1n$ (à gauche ou à
    droite) et de $\frac1{n^2}$ au milieu : doubler $n$ divise l'erreur par 2 ou par 4.
    """),
]

LESSONS["complexes"] = [
    _head("Nombres complexes", "Mathématiques · 2e année Bac SM/PC · Algèbre et géométrie",
          "passer de la forme algébrique à la forme trigonométrique et exponentielle, "
          "interpréter géométriquement le produit."),
    md(r"""
    ## L'essentiel

    * $z=a+ib$ ($a,b$ réels, $i^2=-1$) ; **conjugué** $\bar z=a-ib$ ;
      **module** $|z|=\sqrt{a^2+b^2}$ ; $z\bar z=|z|^2$.
    * **Forme trigonométrique** : $z=r(\cos\theta+i\sin\theta)$ avec $r=|z|$ et
      $\theta\equiv\arg z\ [2\pi]$ ; **forme exponentielle** : $z=re^{i\theta}$.
    * $|zz'|=|z||z'|$ et $\arg(zz')\equiv\arg z+\arg z'\ [2\pi]$ ;
      **Moivre** : $(e^{i\theta})^n=e^{in\theta}$.
    * Multiplier par $e^{i\theta}$, c'est appliquer la **rotation** de centre $O$ et d'angle
      $\theta$.
    * $az^2+bz+c=0$ ($a,b,c$ réels) avec $\Delta<0$ : $z=\dfrac{-b\pm i\sqrt{-\Delta}}{2a}$.
    """),
    md(r"""
    ## Exemple résolu

    $z=1+i\sqrt3$. $|z|=\sqrt{1+3}=2$ ; $\cos\theta=\frac12$, $\sin\theta=\frac{\sqrt3}2$, donc
    $\arg z\equiv\frac\pi3\ [2\pi]$ et $z=2e^{i\pi/3}$.
    Alors $z^3=2^3e^{i\pi}=-8$.
    """),
    md("## À vous de manipuler\n\nLes points $z^0, z^1, \\dots, z^n$ : le module est élevé à la puissance, l'argument multiplié. Avec $r=1$, les points restent sur le cercle unité."),
    code(w.setup("fr")),
    _widget("complexes", w.COMPLEXES),
    md(r"""
    ## À retenir

    Pour calculer une puissance, passer en forme exponentielle ; pour une somme, rester en
    forme algébrique.
    """),
]

LESSONS["probabilites"] = [
    _head("Probabilités : loi binomiale", "Mathématiques · 2e année Bac SM/PC · Probabilités",
          "reconnaître un schéma de Bernoulli, calculer des probabilités avec la loi "
          "binomiale, son espérance et sa variance."),
    md(r"""
    ## L'essentiel

    * Une **épreuve de Bernoulli** a deux issues : succès (probabilité $p$) ou échec ($1-p$).
    * On répète $n$ fois la même épreuve **de manière indépendante** ; $X$ = nombre de
      succès suit la **loi binomiale** $\mathcal B(n;p)$ :
      $$P(X=k)=\binom nk p^k(1-p)^{n-k},\qquad k=0,1,\dots,n.$$
    * $E(X)=np$, $V(X)=np(1-p)$, $\sigma(X)=\sqrt{np(1-p)}$.
    * « Au moins un succès » : $P(X\ge1)=1-P(X=0)=1-(1-p)^n$.
    """),
    md(r"""
    ## Exemple résolu

    Une urne contient 3 boules rouges et 7 blanches. On tire **avec remise** 5 boules ;
    $X$ compte les boules rouges. Les tirages sont indépendants et identiques, avec
    $p=\frac3{10}$ : $X\sim\mathcal B(5;0{,}3)$.

    * $P(X=2)=\binom52(0{,}3)^2(0{,}7)^3=10\times0{,}09\times0{,}343=0{,}3087$.
    * $P(X\ge1)=1-0{,}7^5=1-0{,}16807=0{,}83193$.
    * $E(X)=5\times0{,}3=1{,}5$ et $V(X)=5\times0{,}3\times0{,}7=1{,}05$.
    """),
    md("## À vous de manipuler\n\nLa barre rouge est $P(X=k)$, les barres orange forment $P(X<k)$."),
    code(w.setup("fr")),
    _widget("probabilites", w.BINOMIALE),
    md(r"""
    ## À retenir

    Justifier une loi binomiale, c'est citer : épreuve à deux issues, **répétée $n$ fois**,
    de façon **identique et indépendante** ; $X$ compte les succès.
    """),
]

LESSONS["equations-differentielles"] = [
    _head("Équations différentielles", "Mathématiques · 2e année Bac SM/PC · Analyse",
          "résoudre $y'=ay+b$ et $y''+\\omega^2y=0$, trouver la solution vérifiant une "
          "condition initiale."),
    md(r"""
    ## L'essentiel

    * $y'=ay$ ($a\neq0$) : les solutions sont $y(x)=Ce^{ax}$, $C\in\mathbb R$.
    * $y'=ay+b$ ($a\neq0$) : $y(x)=Ce^{ax}-\frac ba$ ; la fonction constante $-\frac ba$ est la
      solution particulière.
    * $y''+\omega^2y=0$ ($\omega>0$) : $y(x)=A\cos(\omega x)+B\sin(\omega x)$.
    * Une condition initiale ($y(0)$, ou $y(0)$ et $y'(0)$ au second ordre) fixe une **unique**
      solution.
    * En physique : charge d'un condensateur, chute avec frottement, décroissance
      radioactive, oscillateurs — la même équation !
    """),
    md(r"""
    ## Exemple résolu

    $y'=-2y+4$ avec $y(0)=0$. Les solutions sont $y(x)=Ce^{-2x}+2$ ($-\frac ba=-\frac4{-2}=2$).
    $y(0)=C+2=0$ donne $C=-2$ : $y(x)=2\left(1-e^{-2x}\right)$, qui tend vers $2$ en $+\infty$.
    """),
    md("## À vous de manipuler\n\nLes flèches grises sont le **champ de directions** : en chaque point $(x;y)$, la pente $y'=ay+b$. La solution suit les flèches."),
    code(w.setup("fr")),
    _widget("equations-differentielles", w.EQDIFF),
    md(r"""
    ## À retenir

    Si $a<0$, toutes les solutions de $y'=ay+b$ tendent vers $-\frac ba$ : c'est le
    **régime permanent** des physiciens.
    """),
]

LESSONS["radioactivite"] = [
    _head("Décroissance radioactive", "Physique · 2e année Bac SM/PC · Transformations nucléaires",
          "écrire une équation de désintégration, utiliser la loi de décroissance, la demi-vie "
          "et l'activité."),
    md(r"""
    ## L'essentiel

    * Un noyau ${}^A_ZX$ instable se désintègre spontanément : $\alpha$ (émission ${}^4_2\mathrm{He}$),
      $\beta^-$ (émission ${}^{\ \ 0}_{-1}e$), $\beta^+$ (émission ${}^0_1e$), souvent suivie
      d'une émission $\gamma$. **Lois de Soddy** : conservation du nombre de masse $A$ et du
      nombre de charge $Z$.
    * La désintégration est **aléatoire** ; pour un grand nombre de noyaux :
      $N(t)=N_0e^{-\lambda t}$, $\lambda$ : **constante radioactive** (s⁻¹).
    * **Constante de temps** $\tau=\frac1\lambda$ ; **demi-vie** $t_{1/2}=\frac{\ln2}\lambda$ :
      durée au bout de laquelle la moitié des noyaux s'est désintégrée.
    * **Activité** $a(t)=-\frac{dN}{dt}=\lambda N(t)=a_0e^{-\lambda t}$, en becquerels (Bq,
      1 Bq = 1 désintégration par seconde).
    """),
    md(r"""
    ## Exemple résolu — datation au carbone 14

    ${}^{14}_{\ 6}\mathrm C\to{}^{14}_{\ 7}\mathrm N+{}^{\ \ 0}_{-1}e$ ($\beta^-$), $t_{1/2}=5730$ ans.
    Un bois ancien a une activité égale à 25 % de celle d'un bois récent.

    $a=a_0e^{-\lambda t}\Rightarrow t=\dfrac{1}{\lambda}\ln\dfrac{a_0}{a}
    =\dfrac{t_{1/2}}{\ln2}\ln4=2\,t_{1/2}=11\,460$ ans.
    """),
    md("## À vous de manipuler\n\nCochez « désintégrations au hasard » avec peu de noyaux : la courbe exponentielle décrit la **moyenne** d'un phénomène aléatoire."),
    code(w.setup("fr")),
    _widget("radioactivite", w.RADIOACTIVITE),
    md(r"""
    ## À retenir

    Après $n$ demi-vies, il reste $\frac{N_0}{2^n}$ noyaux : jamais zéro en théorie. La
    tangente à l'origine coupe l'axe des temps en $t=\tau$.
    """),
]

LESSONS["dipole-rc"] = [
    _head("Dipôle RC", "Physique · 2e année Bac SM/PC · Électricité",
          "établir l'équation différentielle de la charge, exploiter $\\tau=RC$, calculer "
          "l'énergie stockée."),
    md(r"""
    ## L'essentiel

    * Condensateur : $q=Cu_C$, $i=\frac{dq}{dt}=C\frac{du_C}{dt}$ (convention récepteur).
    * **Charge** sous un échelon de tension $E$ : loi d'additivité des tensions
      $u_R+u_C=E$, soit $RC\dfrac{du_C}{dt}+u_C=E$. Solution avec $u_C(0)=0$ :
      $u_C(t)=E\left(1-e^{-t/\tau}\right)$, $\tau=RC$.
    * **Décharge** : $RC\dfrac{du_C}{dt}+u_C=0$, $u_C(t)=Ee^{-t/\tau}$.
    * À $t=\tau$ : $u_C=0{,}63E$ (charge) ou $0{,}37E$ (décharge) ; à $t=5\tau$ le régime
      permanent est atteint (à 1 % près). La tangente à l'origine coupe l'asymptote en $t=\tau$.
    * **Énergie** stockée : $\mathcal E_e=\frac12Cu_C^2$.
    """),
    md(r"""
    ## Exemple résolu

    $R=2{,}0$ kΩ, $C=5{,}0$ µF, $E=6{,}0$ V.
    $\tau=RC=2{,}0\times10^3\times5{,}0\times10^{-6}=1{,}0\times10^{-2}$ s $=10$ ms.
    $u_C(\tau)=6{,}0\times(1-e^{-1})\approx3{,}8$ V. Courant initial : $i(0)=\frac ER=3{,}0$ mA.
    Énergie finale : $\frac12CE^2=\frac12\times5{,}0\times10^{-6}\times36=9{,}0\times10^{-5}$ J.

    *Vérification de l'unité de $\tau$ :* $[R][C]=\frac{\mathrm V}{\mathrm A}\cdot\frac{\mathrm{A\,s}}{\mathrm V}=\mathrm s$.
    """),
    md("## À vous de manipuler"),
    code(w.setup("fr")),
    _widget("dipole-rc", w.RC),
    md(r"""
    ## À retenir

    Doubler $R$ ou $C$ double $\tau$ : la charge est deux fois plus lente, mais la tension
    finale ($E$) et l'énergie finale ($\frac12CE^2$) ne dépendent pas de $R$.
    """),
]

LESSONS["chute-verticale"] = [
    _head("Lois de Newton : chute verticale avec frottement",
          "Physique · 2e année Bac SM/PC · Mécanique",
          "appliquer la deuxième loi de Newton, établir l'équation différentielle du mouvement, "
          "la résoudre par la méthode d'Euler."),
    md(r"""
    ## L'essentiel

    * **Deuxième loi de Newton**, dans un référentiel galiléen : $\sum\vec F=m\,\vec a_G$.
    * Un corps de masse $m$ et de volume $V$ tombe dans un fluide de masse volumique $\rho_f$ :
      poids $\vec P$ ($mg$), **poussée d'Archimède** $\vec F_A$ ($\rho_fVg$, vers le haut),
      **frottement fluide** $\vec f$ opposé à la vitesse, $f=kv$ (vitesses faibles) ou
      $f=kv^2$.
    * Projection sur un axe vertical orienté vers le bas, avec $f=kv$ :
      $$\frac{dv}{dt}+\frac kmv=g\left(1-\frac{\rho_fV}m\right).$$
    * **Régime initial** puis **régime permanent** : $v\to v_{lim}$ quand
      $\frac{dv}{dt}=0$ ; temps caractéristique $\tau=\frac{v_{lim}}{a_0}$.
    * **Méthode d'Euler** : $a_i=g'-\frac kmv_i$, puis $v_{i+1}=v_i+a_i\,\Delta t$.
    """),
    md(r"""
    ## Exemple résolu

    Bille : $m=20$ g, frottement $f=kv$ avec $k=0{,}050$ kg·s⁻¹, poussée d'Archimède
    négligée, $g=9{,}8$ m·s⁻².
    $\frac{dv}{dt}=g-\frac kmv$ ; $v_{lim}=\frac{mg}k=\frac{0{,}020\times9{,}8}{0{,}050}=3{,}92$ m·s⁻¹ ;
    $\tau=\frac mk=0{,}40$ s.

    Euler avec $\Delta t=0{,}05$ s et $v_0=0$ : $a_0=9{,}8$, $v_1=0{,}49$ m·s⁻¹ ;
    $a_1=9{,}8-2{,}5\times0{,}49=8{,}575$ m·s⁻², $v_2=0{,}49+8{,}575\times0{,}05\approx0{,}919$ m·s⁻¹.
    """),
    md("## À vous de manipuler\n\nAugmentez le pas $\\Delta t$ : les points d'Euler s'écartent de la solution exacte."),
    code(w.setup("fr")),
    _widget("chute-verticale", w.CHUTE),
    md(r"""
    ## À retenir

    La vitesse limite ne dépend pas de la vitesse initiale ; elle augmente avec la masse et
    diminue quand le frottement augmente.
    """),
]

LESSONS["cinetique-chimique"] = [
    _head("Cinétique chimique", "Chimie · 2e année Bac SM/PC · Transformations lentes et rapides",
          "suivre l'avancement au cours du temps, définir et mesurer la vitesse volumique de "
          "réaction et le temps de demi-réaction, connaître les facteurs cinétiques."),
    md(r"""
    ## L'essentiel

    * **Tableau d'avancement** : les quantités de matière s'expriment avec l'avancement $x$ ;
      $x_{max}$ est atteint quand le **réactif limitant** est épuisé.
    * **Vitesse volumique de réaction** : $v(t)=\dfrac1V\dfrac{dx}{dt}$ (mol·L⁻¹·s⁻¹) ;
      graphiquement, c'est la pente de la tangente à $x(t)$ divisée par $V$.
    * **Temps de demi-réaction** $t_{1/2}$ : durée pour laquelle $x(t_{1/2})=\frac{x_f}2$.
    * **Facteurs cinétiques** : la vitesse augmente avec la **température** et la
      **concentration des réactifs** ; un **catalyseur** accélère la réaction sans modifier
      l'état final.
    * En général $v$ diminue au cours du temps car les réactifs se consomment.
    """),
    md(r"""
    ## Exemple résolu

    Oxydation des ions iodure par l'eau oxygénée en milieu acide :
    $\mathrm{H_2O_2+2I^-+2H_3O^+\to I_2+4H_2O}$. On mélange $n_0(\mathrm{H_2O_2})=1{,}0$ mmol et
    $n_0(\mathrm{I^-})=5{,}0$ mmol (acide en excès), $V=100$ mL.

    $1{,}0-x_{max}=0$ ou $5{,}0-2x_{max}=0$ : $x_{max}=\min(1{,}0\,;\,2{,}5)=1{,}0$ mmol, et
    $\mathrm{H_2O_2}$ est limitant. $[\mathrm{I_2}]_f=\frac{1{,}0\times10^{-3}}{0{,}100}=1{,}0\times10^{-2}$ mol·L⁻¹.
    On lit $t_{1/2}$ sur la courbe $x(t)$ à l'ordonnée $x_{max}/2=0{,}50$ mmol.
    """),
    md("## À vous de manipuler\n\nLe modèle $x(t)=x_{max}(1-e^{-kt})$ décrit le suivi. Déplacez l'instant $t$ pour lire la vitesse ; changez la température."),
    code(w.setup("fr")),
    _widget("cinetique-chimique", w.CINETIQUE),
    md(r"""
    ## À retenir

    Quand la température augmente, la courbe $x(t)$ monte plus vite et $t_{1/2}$ diminue,
    mais $x_{max}$ (l'état final) ne change pas.
    """),
]
