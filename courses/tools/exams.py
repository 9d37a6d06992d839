"""Mock bac exams (examens blancs), 2e année Bac Sciences Physiques (PC), barème /20.

Structure of the Moroccan national exam for the PC stream:
* Mathématiques (3 h, coefficient 7): Exercice 1 suites (3 pts), Exercice 2 nombres complexes
  (3 pts), Exercice 3 probabilités (3 pts), Problème: étude de fonction et calcul intégral
  (11 pts).
* Physique-chimie (3 h, coefficient 7): Chimie (7 pts), Physique (13 pts) in three exercises:
  transformations nucléaires, électricité, mécanique.
"""

import math

from graded import INSTRUCTIONS, Sheet

EXAMS = {}


def exam(exam_id, **meta):
    def deco(fn):
        EXAMS[exam_id] = (fn, meta)
        return fn
    return deco


def _cover(s, subject, structure, minutes, coef):
    rows = "\n".join(f"| {part} | {p:g} |".replace(".", ",") for part, p in structure)
    s.text(f"""# Examen blanc du baccalauréat — {subject}

**2e année Bac · filière Sciences Physiques (PC)** · durée : {minutes // 60} h · coefficient : {coef}

L'épreuve est notée sur **20**. Le chronomètre démarre quand vous ouvrez le sujet ; rendez
votre copie avant la fin du temps imparti.

| partie | barème |
|---|---|
{rows}
""" + INSTRUCTIONS)


MATHS_STRUCTURE = [("Exercice 1 — suites numériques", 3), ("Exercice 2 — nombres complexes", 3),
                   ("Exercice 3 — probabilités", 3),
                   ("Problème — étude de fonction et calcul intégral", 11)]


@exam("bac-blanc-maths", subject="mathematiques", minutes=180, coefficient={"PC": 7},
      structure=MATHS_STRUCTURE)
def maths(s: Sheet):
    _cover(s, "Mathématiques", MATHS_STRUCTURE, 180, 7)
    s.setup("import math, cmath")
    s.part = "ex1"
    s.text(r"""
    ## Exercice 1 (3 pts)

    Soit $(u_n)$ définie par $u_0=0$ et $u_{n+1}=\frac13u_n+2$ pour tout $n\in\mathbb N$.
    """)
    s.numeric("1.a", 0.5, r"Calculer $u_2$.", "u2", "8 / 3", 8 / 3, rel=1e-4)
    s.manual("1.b", 1, r"""Montrer par récurrence que $(u_n)$ est majorée par 3, puis qu'elle
             est croissante.""", r"""
    $u_0=0<3$ ; si $u_n<3$ alors $u_{n+1}<\frac13\times3+2=3$ (0,5 pt).
    $u_{n+1}-u_n=2-\frac23u_n=\frac23(3-u_n)>0$ (0,5 pt).
    """)
    s.qcm("2", 0.75, r"On pose $v_n=u_n-3$. La suite $(v_n)$ est :",
          {"a": r"arithmétique de raison $-3$", "b": r"géométrique de raison $\frac13$",
           "c": r"géométrique de raison $3$", "d": "constante"}, "rep_ex1_2", "b")
    s.numeric("3", 0.75, r"Déterminer $\lim u_n$.", "lim_u", "3", 3.0, rel=1e-6)

    s.part = "ex2"
    s.text(r"""
    ## Exercice 2 (3 pts)

    On considère dans $\mathbb C$ l'équation $(E)\colon z^2-2\sqrt3z+4=0$. On note $a$ sa
    solution de partie imaginaire positive, et $A$ le point d'affixe $a$.
    """)
    s.numeric("1.a", 0.5, r"Module de $a$.", "module_a", "abs(math.sqrt(3) + 1j)", 2.0,
              rel=1e-4)
    s.numeric("1.b", 0.5, r"Argument principal de $a$ (en radians).", "arg_a", "math.pi / 6",
              math.pi / 6, rel=1e-4)
    s.qcm("2", 0.5, r"$a^6$ est égal à :",
          {"a": "$64$", "b": "$-64$", "c": "$64i$", "d": "$-64i$"}, "rep_ex2_2", "b")
    s.numeric("3", 0.5, r"""Soit $R$ la rotation de centre $O$ et d'angle $\frac\pi3$ et
              $B=R(A)$. Partie imaginaire de l'affixe $b$ de $B$.""", "im_b",
              "(cmath.exp(1j * math.pi / 3) * (math.sqrt(3) + 1j)).imag", 2.0, rel=1e-4)
    s.manual("4", 1, r"Montrer que le triangle $OAB$ est équilatéral.", r"""
    $b=e^{i\pi/3}a$ donc $|b|=|a|$, soit $OB=OA$, et $(\overrightarrow{OA},\overrightarrow{OB})
    \equiv\frac\pi3\,[2\pi]$ (0,5 pt). Un triangle isocèle d'angle au sommet $\frac\pi3$ est
    équilatéral (0,5 pt).
    """)

    s.part = "ex3"
    s.text(r"""
    ## Exercice 3 (3 pts)

    Une urne contient 4 boules rouges et 6 boules noires, indiscernables au toucher. On tire
    **simultanément** 3 boules. On note $A$ : « obtenir exactement deux boules rouges » et
    $X$ le nombre de boules rouges tirées.
    """)
    s.numeric("1", 0.75, r"Calculer $P(A)$.", "pA", "math.comb(4, 2) * 6 / math.comb(10, 3)",
              0.3, rel=1e-3, between=(0, 1))
    s.numeric("2", 0.75, r"Probabilité d'obtenir au moins une boule rouge.", "p_rouge",
              "1 - math.comb(6, 3) / math.comb(10, 3)", 5 / 6, rel=1e-3, between=(0, 1))
    s.numeric("3", 0.5, r"Espérance $E(X)$.", "EX", "(1 * 60 + 2 * 36 + 3 * 4) / 120", 1.2,
              rel=1e-3)
    s.numeric("4", 1, r"""On répète 5 fois l'épreuve (en remettant les boules). $Y$ compte les
              réalisations de $A$. Calculer $P(Y=2)$.""", "pY2", "10 * 0.3**2 * 0.7**3",
              0.3087, abs=1e-4, rel=0, between=(0, 1))

    s.part = "pb"
    s.text(r"""
    ## Problème (11 pts)

    **Partie I.** Soit $g$ définie sur $\mathbb R$ par $g(x)=e^x-x-1$.

    **Partie II.** Soit $f$ définie sur $\mathbb R$ par $f(x)=x-1+(x+2)e^{-x}$ et
    $\mathcal C_f$ sa courbe dans un repère orthonormé (unité 2 cm).
    """)
    s.manual("I.1", 1, r"""Étudier les variations de $g$ et montrer que $g(x)\ge0$ pour tout
             réel $x$.""", r"""
    $g'(x)=e^x-1$ : négative sur $]-\infty;0]$, positive sur $[0;+\infty[$ (0,5 pt) ; $g$
    admet un minimum $g(0)=0$, donc $g\ge0$ (0,5 pt).
    """)
    s.qcm("II.1", 0.5, r"$\lim\limits_{x\to-\infty}f(x)$ vaut :",
          {"a": r"$-\infty$", "b": r"$+\infty$", "c": "$-1$", "d": "$0$"}, "rep_p_1", "a")
    s.manual("II.2", 1, r"""Montrer que la droite $(\Delta)\colon y=x-1$ est asymptote à
             $\mathcal C_f$ en $+\infty$ et étudier leur position relative.""", r"""
    $f(x)-(x-1)=(x+2)e^{-x}=xe^{-x}+2e^{-x}\to0$ en $+\infty$ (croissances comparées) (0,5 pt).
    Signe de $x+2$ : $\mathcal C_f$ au-dessus de $(\Delta)$ sur $]-2;+\infty[$, en dessous sur
    $]-\infty;-2[$, et elles se coupent au point d'abscisse $-2$ (0,5 pt).
    """)
    s.manual("II.3", 1.5, r"""Montrer que $f'(x)=e^{-x}g(x)$ et en déduire les variations de
             $f$.""", r"""
    $f'(x)=1+e^{-x}-(x+2)e^{-x}=1-(x+1)e^{-x}=e^{-x}\left(e^x-x-1\right)=e^{-x}g(x)$ (1 pt).
    $f'\ge0$ et ne s'annule qu'en $0$ : $f$ est strictement croissante sur $\mathbb R$ (0,5 pt).
    """)
    s.numeric("II.4", 0.5, r"""Coefficient directeur de la tangente à $\mathcal C_f$ au point
              d'abscisse $0$.""", "pente0", "0", 0.0, abs=1e-9)
    s.function("II.5", 1.5, r"On admet que $f''(x)=xe^{-x}$. Écrire la fonction `f(x)`.", "f",
               """
    def f(x):
        return x - 1 + (x + 2) * math.exp(-x)
    """, sample_args=(1.0,), hidden="""
    for x in (-2.0, -1.0, 0.0, 0.5, 3.0):
        check.expect_close(f(x), x - 1 + (x + 2) * math.exp(-x), rel=1e-9, abs=1e-12,
                           name=f"f({x})")
    """)
    s.numeric("II.6", 1, r"""L'équation $f(x)=0$ admet une unique solution $\alpha$. En donner
              une valeur approchée à $10^{-2}$ près.""", "alpha", "-1.41", -1.4124619, abs=0.01,
              rel=0)
    s.manual("II.7", 1.5, r"""Justifier l'existence et l'unicité de $\alpha$ et montrer que
             $-1{,}5<\alpha<-1{,}4$.""", r"""
    $f$ est continue et strictement croissante sur $\mathbb R$ (0,5 pt).
    $f(-1{,}5)=-2{,}5+0{,}5e^{1{,}5}\approx-0{,}26<0$ et $f(-1{,}4)=-2{,}4+0{,}6e^{1{,}4}\approx0{,}03>0$
    (0,5 pt) ; d'après le TVI, $\alpha$ existe, est unique et $-1{,}5<\alpha<-1{,}4$ (0,5 pt).
    """)
    s.numeric("III.1", 1, r"""Calculer $I=\displaystyle\int_0^1(x+2)e^{-x}\,dx$ (à $10^{-4}$
              près).""", "I", "3 - 4 / math.e", 3 - 4 / math.e, abs=1e-4, rel=0)
    s.manual("III.2", 1, r"Rédiger le calcul de $I$ par une intégration par parties.", r"""
    $u=x+2$, $v'=e^{-x}$, $u'=1$, $v=-e^{-x}$ :
    $I=\big[-(x+2)e^{-x}\big]_0^1+\int_0^1e^{-x}dx=(2-3e^{-1})+(1-e^{-1})=3-\frac4e$ (1 pt).
    """)
    s.numeric("III.3", 0.5, r"""En déduire l'aire, en cm², du domaine limité par
              $\mathcal C_f$, $(\Delta)$ et les droites $x=0$ et $x=1$.""", "aire",
              '(4 * (3 - 4 / math.e), "cm2")', 4 * (3 - 4 / math.e), unit="cm2", rel=1e-3,
              positive=True)


PC_STRUCTURE = [("Chimie — cinétique et acide faible", 7),
                ("Physique 1 — transformations nucléaires", 3),
                ("Physique 2 — dipôle RC", 5), ("Physique 3 — chute verticale", 5)]


@exam("bac-blanc-physique-chimie", subject="physique-chimie", minutes=180,
      coefficient={"PC": 7}, structure=PC_STRUCTURE)
def physique(s: Sheet):
    _cover(s, "Physique-Chimie", PC_STRUCTURE, 180, 7)
    s.setup("import math")
    s.text(r"""
    ## Chimie (7 pts)

    ### Partie 1 — suivi cinétique (4 pts)

    On mélange à $t=0$ un volume $V_1=50$ mL d'iodure de potassium ($C_1=0{,}20$ mol·L⁻¹) et
    $V_2=50$ mL de peroxodisulfate de sodium ($C_2=2{,}0\times10^{-2}$ mol·L⁻¹). Réaction :
    $\mathrm{2I^-+S_2O_8^{2-}\to I_2+2SO_4^{2-}}$.
    """)
    s.qcm("C.1", 0.5, "Le réactif limitant est :",
          {"a": r"$\mathrm{I^-}$", "b": r"$\mathrm{S_2O_8^{2-}}$",
           "c": "aucun (mélange stœchiométrique)", "d": r"$\mathrm{SO_4^{2-}}$"}, "rep_c1", "b")
    s.numeric("C.2", 0.75, r"Avancement maximal $x_{max}$, avec son unité.", "x_max",
              '(1.0, "mmol")', 1.0e-3, unit="mol", rel=1e-2, positive=True)
    s.numeric("C.3", 0.75, r"Concentration finale en diiode, avec son unité.", "c_I2",
              '(1.0e-3 / 0.100, "mol/L")', 1.0e-2, unit="mol/L", rel=1e-2, positive=True)
    s.numeric("C.4", 1, r"""Le suivi donne $x(t)=x_{max}(1-e^{-t/\tau})$ avec $\tau=12$ min.
              Temps de demi-réaction, avec son unité.""", "t12", '(12 * math.log(2), "min")',
              12 * 60 * math.log(2), unit="s", rel=1e-2, positive=True)
    s.manual("C.5", 1, r"""Définir la vitesse volumique de réaction et expliquer son évolution
             au cours du temps.""", r"""
    $v=\frac1V\frac{dx}{dt}$ (0,5 pt) ; elle diminue car la concentration des réactifs,
    facteur cinétique, diminue (pente de la tangente à $x(t)$ décroissante) (0,5 pt).
    """)
    s.text(r"""
    ### Partie 2 — un acide faible (3 pts)

    Une solution d'acide éthanoïque de concentration $C=1{,}0\times10^{-2}$ mol·L⁻¹ a un
    $\mathrm{pH}=3{,}4$ à 25 °C.
    """)
    s.qcm("C.6", 0.5, "L'équation de la réaction de l'acide avec l'eau est :",
          {"a": r"$\mathrm{CH_3COOH+H_2O\rightleftarrows CH_3COO^-+H_3O^+}$",
           "b": r"$\mathrm{CH_3COOH+HO^-\to CH_3COO^-+H_2O}$",
           "c": r"$\mathrm{CH_3COO^-+H_3O^+\to CH_3COOH+H_2O}$",
           "d": r"$\mathrm{CH_3COOH\to CH_3COO^-+H^+}$ (totale)"}, "rep_c6", "a")
    s.numeric("C.7", 0.75, r"Taux d'avancement final $\tau_f$ (nombre entre 0 et 1).", "tau_f",
              "10**-3.4 / 1.0e-2", 10**-3.4 / 1e-2, rel=2e-2, between=(0, 1))
    s.numeric("C.8", 0.75, r"$\mathrm{p}K_A$ du couple $\mathrm{CH_3COOH/CH_3COO^-}$.", "pKa",
              "-math.log10((10**-3.4) ** 2 / (1.0e-2 - 10**-3.4))",
              -math.log10((10**-3.4) ** 2 / (1.0e-2 - 10**-3.4)), abs=0.03, rel=0)
    s.manual("C.9", 1, r"Que peut-on conclure de la valeur de $\tau_f$ ? Justifier.", r"""
    $\tau_f\approx0{,}04<1$ (0,5 pt) : la transformation est limitée, l'acide éthanoïque est un
    acide faible ; l'état final est un état d'équilibre (0,5 pt).
    """)

    s.text(r"""
    ## Physique 1 — transformations nucléaires (3 pts)

    Le cobalt 60 (${}^{60}_{27}\mathrm{Co}$), émetteur $\beta^-$ de demi-vie $t_{1/2}=5{,}27$
    ans, sert en radiothérapie. Une source a l'activité $a_0=1{,}0\times10^{14}$ Bq à $t=0$.
    On prend 1 an = 365,25 jours. (Unités de temps : `"s"`, `"j"`, `"an"`.)
    """)
    s.qcm("P1.1", 0.5, "Le noyau fils est :",
          {"a": r"${}^{60}_{28}\mathrm{Ni}$", "b": r"${}^{60}_{26}\mathrm{Fe}$",
           "c": r"${}^{56}_{25}\mathrm{Mn}$", "d": r"${}^{59}_{27}\mathrm{Co}$"}, "rep_p11", "a")
    s.numeric("P1.2", 0.75, r"Constante radioactive $\lambda$, avec son unité.", "lam",
              '(math.log(2) / 5.27, "an-1")', math.log(2) / (5.27 * 365.25 * 86400),
              unit="s-1", rel=2e-2, positive=True, name="λ")
    s.numeric("P1.3", 0.75, r"Activité au bout de 10 ans, avec son unité.", "a10",
              '(1.0e14 * 2 ** (-10 / 5.27), "Bq")', 1.0e14 * 2 ** (-10 / 5.27), unit="Bq",
              rel=2e-2, positive=True)
    s.manual("P1.4", 1, r"""On remplace la source quand son activité devient inférieure à
             25 % de $a_0$. Au bout de combien de temps ? Justifier.""", r"""
    $a=\frac{a_0}4=\frac{a_0}{2^2}$ : il faut deux demi-vies (0,5 pt), soit
    $2\times5{,}27\approx10{,}5$ ans (0,5 pt).
    """)

    s.text(r"""
    ## Physique 2 — dipôle RC (5 pts)

    Un générateur idéal de tension $E=6{,}0$ V charge, à travers $R=1{,}0$ kΩ, un
    condensateur de capacité $C$ initialement déchargé. L'enregistrement de $u_C(t)$ donne
    $\tau=4{,}7$ ms.
    """)
    s.qcm("P2.1", 0.5, r"L'équation différentielle vérifiée par $u_C$ est :",
          {"a": r"$RC\frac{du_C}{dt}+u_C=E$", "b": r"$\frac{du_C}{dt}+RCu_C=E$",
           "c": r"$RC\frac{du_C}{dt}=u_C+E$", "d": r"$\frac{du_C}{dt}=\frac{E}{RC}$"},
          "rep_p21", "a")
    s.manual("P2.2", 1, r"""Montrer que $u_C=A\left(1-e^{-t/\tau}\right)$ est solution et
             exprimer $A$ et $\tau$.""", r"""
    En reportant : $\frac{RCA}{\tau}e^{-t/\tau}+A-Ae^{-t/\tau}=E$ pour tout $t$, donc $A=E$ et
    $\tau=RC$ (1 pt).
    """)
    s.numeric("P2.3", 0.75, r"Capacité $C$, avec son unité.", "C", '(4.7, "µF")', 4.7e-6,
              unit="F", rel=1e-2, positive=True)
    s.numeric("P2.4", 0.75, r"Tension $u_C$ à $t=2\tau$, avec son unité.", "u2tau",
              '(6.0 * (1 - math.exp(-2)), "V")', 6.0 * (1 - math.exp(-2)), unit="V", rel=1e-2)
    s.numeric("P2.5", 1, r"Énergie maximale emmagasinée, avec son unité.", "Ee",
              '(0.5 * 4.7e-6 * 6.0**2, "J")', 0.5 * 4.7e-6 * 36, unit="J", rel=1e-2,
              positive=True)
    s.numeric("P2.6", 1, r"""Le condensateur chargé se décharge dans $R'=2R$. Durée pour que
              $u_C$ atteigne $\frac E2$, avec son unité.""", "t_demi",
              '(2 * 4.7e-3 * math.log(2), "s")', 2 * 4.7e-3 * math.log(2), unit="s",
              rel=1e-2, positive=True)

    s.text(r"""
    ## Physique 3 — chute verticale d'un grêlon (5 pts)

    Un grêlon de masse $m=4{,}0$ g tombe verticalement sans vitesse initiale. L'air exerce
    une force de frottement $f=kv^2$ avec $k=1{,}0\times10^{-4}$ kg·m⁻¹ ; la poussée
    d'Archimède est négligée ; $g=9{,}8$ m·s⁻². Axe vertical orienté vers le bas.
    """)
    s.qcm("P3.1", 0.5, "Les forces appliquées au grêlon sont :",
          {"a": "le poids seulement", "b": "le poids et la force de frottement",
           "c": "le poids, le frottement et la poussée d'Archimède",
           "d": "la force de frottement seulement"}, "rep_p31", "b")
    s.manual("P3.2", 1, r"Établir l'équation différentielle vérifiée par la vitesse $v$.", r"""
    Deuxième loi de Newton dans le référentiel terrestre (galiléen) : $\vec P+\vec f=m\vec a$
    (0,5 pt) ; projection : $\frac{dv}{dt}=g-\frac kmv^2$ (0,5 pt).
    """)
    s.numeric("P3.3", 0.75, r"Vitesse limite, avec son unité.", "v_lim",
              '(math.sqrt(4.0e-3 * 9.8 / 1.0e-4), "m/s")', math.sqrt(4.0e-3 * 9.8 / 1e-4),
              unit="m/s", rel=1e-2, positive=True)
    s.numeric("P3.4", 0.75, r"Accélération initiale, avec son unité.", "a0", '(9.8, "m/s2")',
              9.8, unit="m/s2", rel=1e-2, positive=True)
    s.function("P3.5", 1.5, r"""Écrire `euler(dt, n)` qui renvoie la liste $[v_0,\dots,v_n]$
               des vitesses obtenues par la méthode d'Euler ($v_0=0$).""", "euler", """
    def euler(dt, n):
        m, k, g = 4.0e-3, 1.0e-4, 9.8
        v = [0.0]
        for _ in range(n):
            v.append(v[-1] + (g - k / m * v[-1] ** 2) * dt)
        return v
    """, sample_args=(0.1, 3), returns="list", hidden="""
    v = euler(0.1, 100)
    assert len(v) == 101
    check.expect_close(v[1], 0.98, rel=1e-9, name="euler")
    check.expect_close(v[2], 0.98 + 0.1 * (9.8 - 0.025 * 0.98**2), rel=1e-9, name="euler")
    check.expect_close(v[100], 19.799, rel=5e-3, name="euler")
    """)
    s.numeric("P3.6", 0.5, r"""Temps caractéristique $\tau=\frac{v_{lim}}{a_0}$, avec son
              unité.""", "tau", '(math.sqrt(4.0e-3 * 9.8 / 1.0e-4) / 9.8, "s")',
              math.sqrt(4.0e-3 * 9.8 / 1e-4) / 9.8, unit="s", rel=1e-2, positive=True,
              name="τ")
