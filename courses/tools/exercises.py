"""Exercise sets, one per lesson, as nbgrader source notebooks (bac-style barème, /10)."""

import math
import textwrap

from graded import INSTRUCTIONS, Sheet

SETS = {}


def exercise(lesson_id, minutes):
    def deco(fn):
        SETS[f"ex-{lesson_id}"] = (fn, lesson_id, minutes)
        return fn
    return deco


def _intro(s, title, minutes, context=""):
    s.text(f"# Série d'exercices — {title}\n\n**Barème : 10 points** · durée conseillée : "
           f"{minutes} min.\n" + textwrap.dedent(INSTRUCTIONS) + "\n" + textwrap.dedent(context))


@exercise("suites", 55)
def suites(s: Sheet):
    _intro(s, "Suites numériques", 55, r"""
    ## Énoncé

    On considère la suite $(u_n)$ définie par $u_0=0$ et, pour tout $n\in\mathbb N$,
    $u_{n+1}=\dfrac{2u_n+3}{u_n+4}$. On pose $v_n=\dfrac{u_n-1}{u_n+3}$.
    """)
    s.setup()
    s.numeric("Question 1.a", 0.5, r"Calculer $u_1$ (valeur exacte ou décimale).", "u1",
              "3 / 4", 0.75, rel=1e-3)
    s.numeric("Question 1.b", 0.5, r"Calculer $u_2$.", "u2", "(2 * 0.75 + 3) / (0.75 + 4)",
              18 / 19, rel=1e-3)
    s.manual("Question 2", 2, r"""Montrer par récurrence que, pour tout $n\in\mathbb N$,
             $0\le u_n<1$. *(Indication : $u_{n+1}-1=\dfrac{u_n-1}{u_n+4}$.)*""", r"""
    **Initialisation** : $u_0=0$ et $0\le0<1$ (0,5 pt).

    **Hérédité** : supposons $0\le u_n<1$. Alors $u_n+4>0$ et $2u_n+3>0$ donc
    $u_{n+1}>0$ ; et $u_{n+1}-1=\dfrac{u_n-1}{u_n+4}<0$ car $u_n-1<0$ : $u_{n+1}<1$ (1 pt).

    **Conclusion** : pour tout $n$, $0\le u_n<1$ (0,5 pt).
    """)
    s.qcm("Question 3", 1, r"La suite $(v_n)$ est :",
          {"a": r"arithmétique de raison $\frac15$",
           "b": r"géométrique de raison $\frac15$",
           "c": r"géométrique de raison $5$",
           "d": "ni arithmétique ni géométrique"}, "rep3", "b")
    s.manual("Question 4", 2, r"""Justifier la réponse à la question 3, puis exprimer $v_n$
             puis $u_n$ en fonction de $n$.""", r"""
    $v_{n+1}=\dfrac{u_{n+1}-1}{u_{n+1}+3}=\dfrac{\frac{2u_n+3-u_n-4}{u_n+4}}{\frac{2u_n+3+3u_n+12}{u_n+4}}
    =\dfrac{u_n-1}{5(u_n+3)}=\dfrac15v_n$ (1 pt) ; $v_0=-\frac13$.

    Donc $v_n=-\frac13\left(\frac15\right)^n$ et, de $v_n(u_n+3)=u_n-1$ :
    $u_n=\dfrac{1+3v_n}{1-v_n}$ (1 pt).
    """)
    s.function("Question 5", 2, r"""Écrire une fonction `terme(n)` qui renvoie $u_n$ (calculé
               par la relation de récurrence ou par la formule).""", "terme", """
    def terme(n):
        u = 0.0
        for _ in range(n):
            u = (2 * u + 3) / (u + 4)
        return u
    """, sample_args=(2,), hidden="""
    assert terme(0) == 0
    check.expect_close(terme(1), 0.75, rel=1e-9, name="terme(1)")
    for n in (3, 7, 15):
        v = -(1 / 3) * (1 / 5) ** n
        check.expect_close(terme(n), (1 + 3 * v) / (1 - v), rel=1e-9, name=f"terme({n})")
    """)
    s.numeric("Question 6", 1, r"Quelle est la limite $\ell$ de la suite $(u_n)$ ?", "limite",
              "1", 1.0, abs=1e-9)
    s.numeric("Question 7", 1, r"""Déterminer le plus petit entier $n$ tel que
              $|u_n-\ell|<10^{-6}$.""", "n0", "9", 9, rel=0, abs=0.1, integer=True,
              positive=True)


@exercise("limites-continuite", 55)
def limites(s: Sheet):
    _intro(s, "Limites et continuité", 55, r"""
    ## Énoncé

    Soit $f$ la fonction définie sur $]0;+\infty[$ par $f(x)=x+\ln x$.
    """)
    s.setup("import math")
    s.qcm("Question 1", 1, r"$\lim\limits_{x\to0^+}f(x)$ vaut :",
          {"a": "$0$", "b": r"$-\infty$", "c": r"$+\infty$", "d": "$1$"}, "rep1", "b")
    s.qcm("Question 2", 1, r"$\lim\limits_{x\to+\infty}\dfrac{f(x)}{x}$ vaut :",
          {"a": r"$+\infty$", "b": "$1$", "c": "$0$", "d": "elle n'existe pas"}, "rep2", "b")
    s.numeric("Question 3", 1.5, r"Calculer $\lim\limits_{x\to0}\dfrac{\sqrt{1+x}-1}{x}$.",
              "lim3", "0.5", 0.5, rel=1e-3)
    s.manual("Question 4", 2, r"""Montrer que l'équation $f(x)=0$ admet une unique solution
             $\alpha$ dans $\left]\frac12;1\right[$.""", r"""
    $f$ est continue sur $]0;+\infty[$ (somme de fonctions continues) et
    $f'(x)=1+\frac1x>0$ : $f$ est strictement croissante (1 pt).
    $f(\frac12)=\frac12-\ln2\approx-0{,}19<0$ et $f(1)=1>0$. D'après le théorème des valeurs
    intermédiaires (cas strictement monotone), $f(x)=0$ admet une unique solution
    $\alpha\in\,]\frac12;1[$ (1 pt).
    """)
    s.function("Question 5", 2.5, r"""Écrire une fonction `dichotomie(f, a, b, eps)` qui,
               pour $f$ continue avec $f(a)f(b)<0$, renvoie un couple `(a, b)` d'amplitude
               au plus `eps` contenant une solution de $f(x)=0$.""", "dichotomie", """
    def dichotomie(f, a, b, eps):
        while b - a > eps:
            m = (a + b) / 2
            if f(a) * f(m) <= 0:
                b = m
            else:
                a = m
        return (a, b)
    """, sample_args="(lambda x: x - 0.3, 0.0, 1.0, 0.1)", returns="tuple", hidden="""
    a, b = dichotomie(lambda x: x + math.log(x), 0.5, 1.0, 1e-6)
    assert 0 <= b - a <= 1e-6, "amplitude"
    check.expect_close((a + b) / 2, 0.5671432904, abs=1e-6, name="dichotomie")
    a, b = dichotomie(lambda x: x**3 + x - 1, 0.0, 1.0, 1e-8)
    check.expect_close(a, 0.6823278038, abs=1e-7, name="dichotomie")
    """)
    s.numeric("Question 6", 2, r"Donner une valeur approchée de $\alpha$ à $10^{-2}$ près.",
              "alpha", "0.567", 0.5671432904, abs=0.01, rel=0, between=(0, 1))


@exercise("derivation", 60)
def derivation(s: Sheet):
    _intro(s, "Dérivation et étude de fonctions", 60, r"""
    ## Énoncé

    Soit $f$ définie sur $\mathbb R$ par $f(x)=x^3-6x^2+9x-2$ et $\mathcal C_f$ sa courbe
    dans un repère orthonormé.
    """)
    s.setup()
    s.function("Question 1", 1.5, r"Écrire une fonction `f_prime(x)` qui renvoie $f'(x)$.",
               "f_prime", """
    def f_prime(x):
        return 3 * x**2 - 12 * x + 9
    """, sample_args=(0.5,), hidden="""
    for x in (-2.0, 0.0, 1.0, 2.5, 3.0, 10.0):
        check.expect_close(f_prime(x), 3 * x**2 - 12 * x + 9, rel=1e-9, abs=1e-9,
                           name=f"f_prime({x})")
    """)
    s.numeric("Question 2.a", 0.5, r"Abscisse du maximum local de $f$.", "x_max", "1", 1.0,
              abs=1e-6)
    s.numeric("Question 2.b", 0.5, r"Valeur de ce maximum local.", "f_max", "2", 2.0,
              abs=1e-6)
    s.numeric("Question 2.c", 0.5, r"Abscisse du minimum local de $f$.", "x_min", "3", 3.0,
              abs=1e-6)
    s.numeric("Question 2.d", 0.5, r"Valeur de ce minimum local.", "f_min", "-2", -2.0,
              abs=1e-6)
    s.qcm("Question 3", 1, r"""Une équation de la tangente à $\mathcal C_f$ au point
          d'abscisse $0$ est :""",
          {"a": "$y=9x-2$", "b": "$y=-2x+9$", "c": "$y=9x+2$", "d": "$y=3x-2$"},
          "rep3", "a")
    s.numeric("Question 4.a", 0.75, r"Abscisse du point d'inflexion $I$ de $\mathcal C_f$.",
              "x_I", "2", 2.0, abs=1e-6)
    s.numeric("Question 4.b", 0.75, r"Ordonnée du point $I$.", "y_I", "0", 0.0, abs=1e-6)
    s.numeric("Question 5", 1, r"""Combien de solutions réelles l'équation $f(x)=0$
              possède-t-elle ?""", "nb_solutions", "3", 3, abs=0.1, integer=True)
    s.manual("Question 6", 3, r"""Dresser le tableau de variations de $f$ (avec les limites)
             et montrer que $I$ est centre de symétrie de $\mathcal C_f$.""", r"""
    $f'(x)=3(x-1)(x-3)$ : positive sur $]-\infty;1]$ et $[3;+\infty[$, négative sur $[1;3]$.
    $\lim_{-\infty}f=-\infty$, $\lim_{+\infty}f=+\infty$ (terme de plus haut degré).
    $f$ croît jusqu'à $f(1)=2$, décroît jusqu'à $f(3)=-2$, puis croît (1,5 pt).

    Symétrie : $f(4-x)+f(x)=0=2\times0$ pour tout $x$ (développer) donc $I(2;0)$ est centre de
    symétrie (1,5 pt) :
    $f(4-x)=(4-x)^3-6(4-x)^2+9(4-x)-2=-x^3+6x^2-9x+2=-f(x)$.
    """)


@exercise("log-exp", 55)
def logexp(s: Sheet):
    _intro(s, "Logarithme et exponentielle", 55)
    s.setup("import math")
    s.numeric("Question 1", 1.5, r"""L'équation $e^{2x}-4e^x+3=0$ admet deux solutions, dont
              $0$. Donner l'autre (valeur décimale à $10^{-3}$ près).""", "x1", "math.log(3)",
              math.log(3), rel=1e-3)
    s.numeric("Question 2", 1.5, r"""Résoudre dans $\mathbb R$ :
              $\ln(x-1)+\ln(x+1)=\ln3$. Donner la solution.""", "x2", "2", 2.0, rel=1e-6)
    s.qcm("Question 3", 1, r"$\lim\limits_{x\to+\infty}x^2e^{-x}$ vaut :",
          {"a": r"$+\infty$", "b": "$0$", "c": "$1$", "d": r"$-\infty$"}, "rep3", "b")
    s.qcm("Question 4", 1, r"La dérivée de $x\mapsto\ln(x^2+1)$ est :",
          {"a": r"$\dfrac1{x^2+1}$", "b": r"$\dfrac{2x}{x^2+1}$", "c": r"$2x\ln(x^2+1)$",
           "d": r"$\dfrac2x$"}, "rep4", "b")
    s.function("Question 5", 1, r"""On pose $g(x)=x-1-\ln x$ pour $x>0$. Écrire la fonction
               `g(x)`.""", "g", """
    def g(x):
        return x - 1 - math.log(x)
    """, sample_args=(3.0,), hidden="""
    for x in (0.1, 0.5, 1.0, 3.0, 100.0):
        check.expect_close(g(x), x - 1 - math.log(x), rel=1e-9, abs=1e-12, name=f"g({x})")
    """)
    s.manual("Question 6", 3, r"""Étudier les variations de $g$ sur $]0;+\infty[$ et en déduire
             que, pour tout $x>0$, $\ln x\le x-1$.""", r"""
    $g'(x)=1-\frac1x=\frac{x-1}x$ : $g'<0$ sur $]0;1[$, $g'>0$ sur $]1;+\infty[$ (1 pt).
    $g$ est décroissante puis croissante : elle admet un minimum en $1$, $g(1)=0$ (1 pt).
    Donc $g(x)\ge0$, soit $\ln x\le x-1$, avec égalité seulement pour $x=1$ (1 pt).
    """)
    s.numeric("Question 7", 1, r"Déterminer le plus petit entier $n$ tel que $0{,}9^n<0{,}01$.",
              "n7", "44", 44, rel=0, abs=0.1, integer=True, positive=True)


@exercise("integrales", 55)
def integrales(s: Sheet):
    _intro(s, "Calcul intégral", 55)
    s.setup("import math")
    s.numeric("Question 1", 1, r"Calculer $\displaystyle\int_0^2(3x^2-2x+1)\,dx$.", "I1", "6",
              6.0, rel=1e-6)
    s.numeric("Question 2", 1.5, r"Calculer $\displaystyle\int_1^e\dfrac{\ln x}{x}\,dx$.",
              "I2", "0.5", 0.5, rel=1e-4)
    s.numeric("Question 3", 2, r"""À l'aide d'une intégration par parties, calculer
              $J=\displaystyle\int_0^1xe^{-x}\,dx$ (valeur décimale à $10^{-4}$ près).""", "J",
              "1 - 2 / math.e", 1 - 2 / math.e, abs=1e-4, rel=0)
    s.manual("Question 4", 2, r"Rédiger le calcul de $J$ (choix de $u$ et $v'$, calcul).",
             r"""
    $u(x)=x$, $v'(x)=e^{-x}$ ; $u'(x)=1$, $v(x)=-e^{-x}$ (0,5 pt).
    $J=\big[-xe^{-x}\big]_0^1+\int_0^1e^{-x}dx=-e^{-1}+\big[-e^{-x}\big]_0^1=-e^{-1}+1-e^{-1}=1-\frac2e$
    (1,5 pt).
    """)
    s.function("Question 5", 2, r"""Écrire `rectangles(f, a, b, n)` qui renvoie la somme des
               aires des $n$ rectangles « à gauche » :
               $\frac{b-a}{n}\sum_{k=0}^{n-1}f\!\left(a+k\frac{b-a}n\right)$.""",
               "rectangles", """
    def rectangles(f, a, b, n):
        h = (b - a) / n
        return h * sum(f(a + k * h) for k in range(n))
    """, sample_args="(lambda x: 1.0, 0.0, 1.0, 3)", hidden="""
    check.expect_close(rectangles(lambda x: x**2, 0.0, 1.0, 4), 0.21875, rel=1e-9,
                       name="rectangles")
    check.expect_close(rectangles(math.exp, 0.0, 1.0, 1000), 1.7174228, rel=1e-6,
                       name="rectangles")
    """)
    s.numeric("Question 6", 1.5, r"""Le plan est muni d'un repère orthogonal d'unités 2 cm.
              Calculer, en cm², l'aire du domaine limité par la courbe de $x\mapsto e^x$, l'axe
              des abscisses et les droites $x=0$ et $x=\ln2$.""", "aire", '(4, "cm2")', 4.0,
              unit="cm2", rel=1e-3, positive=True)


@exercise("complexes", 55)
def complexes(s: Sheet):
    _intro(s, "Nombres complexes", 55, r"""
    ## Énoncé

    Dans le plan complexe rapporté à un repère orthonormé direct $(O;\vec u,\vec v)$, on
    considère $z_A=1+i\sqrt3$ et $z_B=1-i\sqrt3$. En Python, `1 + 1j * math.sqrt(3)` et
    `abs`, `cmath.phase` peuvent aider.
    """)
    s.setup("import math, cmath")
    s.numeric("Question 1", 1, r"Module de $z_A$.", "module_A", "abs(1 + 1j * math.sqrt(3))",
              2.0, rel=1e-4)
    s.numeric("Question 2", 1, r"Argument principal de $z_A$, en radians.", "arg_A",
              "math.pi / 3", math.pi / 3, rel=1e-4)
    s.qcm("Question 3", 1.5, r"$z_A^6$ est égal à :",
          {"a": "$64$", "b": "$-64$", "c": "$64i$", "d": "$2^6i$"}, "rep3", "a")
    s.numeric("Question 4.a", 1, r"""On résout $z^2-2z+4=0$. Partie réelle de la solution de
              partie imaginaire positive.""", "re_z1", "1", 1.0, rel=1e-6)
    s.numeric("Question 4.b", 1, r"Partie imaginaire de cette solution.", "im_z1",
              "math.sqrt(3)", math.sqrt(3), rel=1e-4)
    s.numeric("Question 5", 1.5, r"Distance $AB$.", "AB", "2 * math.sqrt(3)",
              2 * math.sqrt(3), rel=1e-3, positive=True)
    s.qcm("Question 6", 1, r"""L'écriture complexe de la rotation de centre $O$ et d'angle
          $\frac\pi2$ est :""",
          {"a": "$z'=-z$", "b": "$z'=iz$", "c": r"$z'=\bar z$", "d": "$z'=-iz$"}, "rep6", "b")
    s.manual("Question 7", 2, r"""Calculer $\dfrac{z_A}{z_B}$ sous forme exponentielle et en
             déduire la nature du triangle $OAB$.""", r"""
    $z_A=2e^{i\pi/3}$, $z_B=\overline{z_A}=2e^{-i\pi/3}$, donc
    $\dfrac{z_A}{z_B}=e^{2i\pi/3}$ (1 pt).
    Ainsi $OA=OB$ et $(\overrightarrow{OB},\overrightarrow{OA})\equiv\frac{2\pi}3\,[2\pi]$ :
    $OAB$ est isocèle en $O$, d'angle au sommet $\frac{2\pi}3$ (1 pt).
    """)


@exercise("probabilites", 50)
def probabilites(s: Sheet):
    _intro(s, "Loi binomiale", 50, r"""
    ## Énoncé

    Un QCM comporte 10 questions indépendantes ; chacune propose 4 réponses dont une seule
    est juste. Un élève répond **au hasard** à chaque question. $X$ est le nombre de bonnes
    réponses. (`math.comb(n, k)` calcule $\binom nk$.)
    """)
    s.setup("import math")
    s.qcm("Question 1", 1, "$X$ suit la loi :",
          {"a": r"$\mathcal B(10;\frac14)$", "b": r"$\mathcal B(4;\frac1{10})$",
           "c": r"$\mathcal B(10;\frac34)$", "d": "uniforme sur $\\{0,\\dots,10\\}$"},
          "rep1", "a")
    s.numeric("Question 2", 1.5, r"$P(X=3)$ (à $10^{-4}$ près).", "p3",
              "math.comb(10, 3) * 0.25**3 * 0.75**7", 0.25028228759765625, abs=1e-4, rel=0,
              between=(0, 1))
    s.numeric("Question 3", 1.5, r"$P(X\ge1)$ (à $10^{-4}$ près).", "p_au_moins_1",
              "1 - 0.75**10", 0.9436864852905273, abs=1e-4, rel=0, between=(0, 1))
    s.numeric("Question 4", 1, r"Espérance $E(X)$.", "esperance", "10 * 0.25", 2.5, rel=1e-6)
    s.numeric("Question 5", 1, r"Variance $V(X)$.", "variance", "10 * 0.25 * 0.75", 1.875,
              rel=1e-6, positive=True)
    s.function("Question 6", 2, r"""Écrire `binomiale(n, p, k)` qui renvoie
               $\binom nkp^k(1-p)^{n-k}$.""", "binomiale", """
    def binomiale(n, p, k):
        return math.comb(n, k) * p**k * (1 - p) ** (n - k)
    """, sample_args=(2, 0.5, 1), hidden="""
    for n, p, k in ((10, 0.25, 3), (20, 0.6, 12), (5, 0.3, 0), (7, 0.1, 7)):
        check.expect_close(binomiale(n, p, k), math.comb(n, k) * p**k * (1 - p) ** (n - k),
                           rel=1e-9, abs=1e-15, name="binomiale")
    """)
    s.manual("Question 7", 2, r"""Chaque bonne réponse rapporte 1 point, chaque mauvaise retire
             0,5 point. Exprimer la note $N$ en fonction de $X$ et calculer $E(N)$. Répondre
             au hasard est-il une bonne stratégie ?""", r"""
    $N=X-0{,}5(10-X)=1{,}5X-5$ (1 pt). Par linéarité, $E(N)=1{,}5E(X)-5=1{,}5\times2{,}5-5=-1{,}25$
    (0,5 pt). En moyenne la note est négative : répondre au hasard n'est pas rentable (0,5 pt).
    """)


@exercise("equations-differentielles", 50)
def eqdiff(s: Sheet):
    _intro(s, "Équations différentielles", 50, r"""
    ## Énoncé

    On considère l'équation différentielle $(E)\colon\ y'+2y=6$.
    """)
    s.setup("import math")
    s.qcm("Question 1", 1, r"Les solutions de $y'=-2y$ sont les fonctions :",
          {"a": r"$x\mapsto Ce^{2x}$", "b": r"$x\mapsto Ce^{-2x}$", "c": r"$x\mapsto Cxe^{-2x}$",
           "d": r"$x\mapsto-2x+C$"}, "rep1", "b")
    s.numeric("Question 2", 1, r"Valeur de la solution constante de $(E)$.", "y_const", "3",
              3.0, rel=1e-9)
    s.function("Question 3", 2, r"Écrire `y(x)` : la solution de $(E)$ vérifiant $y(0)=1$.",
               "y", """
    def y(x):
        return 3 - 2 * math.exp(-2 * x)
    """, sample_args=(0.5,), hidden="""
    for x in (0.0, 0.3, 1.0, 5.0):
        check.expect_close(y(x), 3 - 2 * math.exp(-2 * x), rel=1e-9, name=f"y({x})")
    """)
    s.numeric("Question 4", 1.5, r"Pour quelle valeur de $x$ a-t-on $y(x)=2{,}5$ ?", "x4",
              "math.log(2)", math.log(2), rel=1e-3)
    s.numeric("Question 5", 1.5, r"""Soit $z$ la solution de $z''+9z=0$ telle que $z(0)=1$ et
              $z'(0)=3$. Calculer $z\!\left(\frac\pi{12}\right)$.""", "z5", "math.sqrt(2)",
              math.sqrt(2), rel=1e-3)
    s.manual("Question 6", 3, r"""Résoudre $(E)$ en justifiant, puis vérifier que la solution de
             la question 3 convient.""", r"""
    $(E)\iff y'=-2y+6$, de la forme $y'=ay+b$ avec $a=-2$, $b=6$ (0,5 pt).
    Solutions : $y(x)=Ce^{-2x}+3$, $C\in\mathbb R$ (1,5 pt).
    $y(0)=1\iff C+3=1\iff C=-2$ : $y(x)=3-2e^{-2x}$ ; vérification :
    $y'+2y=4e^{-2x}+6-4e^{-2x}=6$ (1 pt).
    """)


@exercise("radioactivite", 50)
def radioactivite(s: Sheet):
    _intro(s, "Décroissance radioactive", 50, r"""
    ## Énoncé

    L'iode 131 (${}^{131}_{\ 53}\mathrm I$), radioactif $\beta^-$, de demi-vie
    $t_{1/2}=8{,}0$ jours, est utilisé en médecine. Un patient reçoit une dose d'activité
    $a_0=4{,}0\times10^8$ Bq à $t=0$. Unités de temps acceptées : `"s"`, `"min"`, `"h"`,
    `"j"` (jour).
    """)
    s.setup("import math")
    s.qcm("Question 1", 1, r"La désintégration de l'iode 131 produit :",
          {"a": r"${}^{131}_{\ 54}\mathrm{Xe}+{}^{\ \ 0}_{-1}e$",
           "b": r"${}^{131}_{\ 52}\mathrm{Te}+{}^0_1e$",
           "c": r"${}^{127}_{\ 51}\mathrm{Sb}+{}^4_2\mathrm{He}$",
           "d": r"${}^{131}_{\ 54}\mathrm{Xe}+{}^0_1e$"}, "rep1", "a")
    s.numeric("Question 2", 1.5, r"Constante radioactive $\lambda$, avec son unité.", "lam",
              '(math.log(2) / (8.0 * 86400), "s-1")', math.log(2) / (8 * 86400), unit="s-1",
              rel=1e-2, positive=True, name="λ")
    s.numeric("Question 3", 1.5, r"Nombre de noyaux $N_0$ à $t=0$.", "N0",
              "4.0e8 / (math.log(2) / (8.0 * 86400))", 4.0e8 / (math.log(2) / (8 * 86400)),
              rel=1e-2, positive=True)
    s.numeric("Question 4", 1.5, r"Activité au bout de 24 jours, avec son unité.", "a24",
              '(4.0e8 / 8, "Bq")', 5.0e7, unit="Bq", rel=1e-2, positive=True)
    s.numeric("Question 5", 1.5, r"Durée au bout de laquelle l'activité vaut 1 % de $a_0$.",
              "t_1pc", '(8.0 * math.log(100) / math.log(2), "j")',
              8.0 * 86400 * math.log(100) / math.log(2), unit="s", rel=1e-2, positive=True)
    s.function("Question 6", 1, r"""Écrire `activite(t)` qui renvoie l'activité (en Bq) à la
               date `t` exprimée en jours.""", "activite", """
    def activite(t):
        return 4.0e8 * math.exp(-math.log(2) / 8.0 * t)
    """, sample_args=(1.0,), hidden="""
    for t in (0.0, 8.0, 20.0, 60.0):
        check.expect_close(activite(t), 4.0e8 * 2 ** (-t / 8.0), rel=1e-6, name=f"activite({t})")
    """)
    s.manual("Question 7", 2, r"""Établir l'expression littérale de la durée de la question 5.
             Un camarade affirme qu'au bout de deux demi-vies l'échantillon n'est plus
             radioactif : que lui répondre ?""", r"""
    $a(t)=a_0e^{-\lambda t}=0{,}01a_0\iff t=\frac{\ln100}{\lambda}=t_{1/2}\frac{\ln100}{\ln2}\approx53$ j
    (1 pt). Après deux demi-vies, l'activité vaut encore $\frac{a_0}4=1{,}0\times10^8$ Bq :
    la décroissance est exponentielle, elle ne s'annule jamais (1 pt).
    """)


@exercise("dipole-rc", 50)
def dipole_rc(s: Sheet):
    _intro(s, "Dipôle RC", 50, r"""
    ## Énoncé

    Un condensateur de capacité $C=10$ µF, initialement déchargé, est chargé à travers un
    conducteur ohmique $R=2{,}0$ kΩ par un générateur idéal de tension $E=12$ V, fermé à
    $t=0$.
    """)
    s.setup("import math")
    s.numeric("Question 1", 1, r"Constante de temps $\tau$, avec son unité.", "tau",
              '(2.0e3 * 10e-6, "s")', 0.02, unit="s", rel=1e-2, positive=True, name="τ")
    s.qcm("Question 2", 1, r"L'équation différentielle vérifiée par $u_C$ pendant la charge :",
          {"a": r"$RC\frac{du_C}{dt}+u_C=E$", "b": r"$RC\frac{du_C}{dt}-u_C=E$",
           "c": r"$\frac{du_C}{dt}+RC\,u_C=E$", "d": r"$R\frac{du_C}{dt}+C\,u_C=E$"},
          "rep2", "a")
    s.numeric("Question 3", 1.5, r"Tension $u_C$ à $t=30$ ms.", "u30",
              '(12 * (1 - math.exp(-30e-3 / 20e-3)), "V")', 12 * (1 - math.exp(-1.5)),
              unit="V", rel=1e-2)
    s.numeric("Question 4", 1.5, r"Intensité du courant juste après la fermeture.", "i0",
              '(12 / 2.0e3, "A")', 6e-3, unit="A", rel=1e-2, positive=True)
    s.numeric("Question 5", 1, r"Énergie emmagasinée en fin de charge.", "Ee",
              '(0.5 * 10e-6 * 12**2, "J")', 7.2e-4, unit="J", rel=1e-2, positive=True)
    s.function("Question 6", 2, r"""Écrire `euler_rc(E, R, C, dt, n)` qui renvoie la liste
               $[u_0, u_1, \dots, u_n]$ des valeurs approchées de $u_C$ par la méthode d'Euler,
               avec $u_0=0$ et $u_{k+1}=u_k+\Delta t\,\dfrac{E-u_k}{RC}$.""", "euler_rc", """
    def euler_rc(E, R, C, dt, n):
        u = [0.0]
        for _ in range(n):
            u.append(u[-1] + dt * (E - u[-1]) / (R * C))
        return u
    """, sample_args=(1.0, 1.0, 1.0, 0.1, 3), returns="list", hidden="""
    u = euler_rc(12.0, 2.0e3, 10e-6, 1e-3, 100)
    assert len(u) == 101
    check.expect_close(u[1], 0.6, rel=1e-9, name="euler_rc")
    check.expect_close(u[2], 1.17, rel=1e-9, name="euler_rc")
    check.expect_close(u[100], 12 * (1 - 0.95**100), rel=1e-9, name="euler_rc")
    """)
    s.manual("Question 7", 2, r"""Vérifier que $u_C(t)=E\left(1-e^{-t/\tau}\right)$ est solution
             de l'équation différentielle, et expliquer deux méthodes graphiques pour
             déterminer $\tau$ à partir de l'enregistrement de $u_C(t)$.""", r"""
    $\frac{du_C}{dt}=\frac E\tau e^{-t/\tau}$ donc
    $RC\frac{du_C}{dt}+u_C=Ee^{-t/\tau}+E-Ee^{-t/\tau}=E$ avec $\tau=RC$ (1 pt).
    Méthodes : abscisse du point de la courbe d'ordonnée $0{,}63E$ ; abscisse de l'intersection
    de la tangente à l'origine avec l'asymptote $u_C=E$ (1 pt).
    """)


@exercise("chute-verticale", 60)
def chute(s: Sheet):
    _intro(s, "Chute verticale avec frottement", 60, r"""
    ## Énoncé

    Une bille d'acier de masse $m=20$ g et de volume $V=2{,}5$ cm³ est lâchée sans vitesse
    initiale dans de la glycérine ($\rho=1260$ kg·m⁻³). Elle subit une force de frottement
    fluide $\vec f=-k\vec v$ avec $k=0{,}25$ kg·s⁻¹. On prend $g=9{,}8$ m·s⁻² et un axe
    vertical orienté vers le bas.
    """)
    s.setup("import math\nm, V, rho, k, g = 0.020, 2.5e-6, 1260, 0.25, 9.8")
    s.qcm("Question 1", 1, "Les forces qui s'exercent sur la bille sont :",
          {"a": "le poids seulement", "b": "le poids, la poussée d'Archimède et le frottement",
           "c": "le poids et le frottement", "d": "la poussée d'Archimède et le frottement"},
          "rep1", "b")
    s.manual("Question 2", 2, r"""Établir l'équation différentielle vérifiée par la vitesse $v$
             et la mettre sous la forme $\frac{dv}{dt}=A-Bv$.""", r"""
    Système : la bille ; référentiel terrestre supposé galiléen. Deuxième loi de Newton :
    $\vec P+\vec F_A+\vec f=m\vec a$ (0,5 pt). Projection sur l'axe vertical descendant :
    $mg-\rho Vg-kv=m\frac{dv}{dt}$ (1 pt), d'où
    $\frac{dv}{dt}=g\left(1-\frac{\rho V}m\right)-\frac kmv$ : $A=g(1-\frac{\rho V}m)$,
    $B=\frac km$ (0,5 pt).
    """)
    s.numeric("Question 3", 1.5, r"Vitesse limite $v_{lim}$, avec son unité.", "v_lim",
              '(g * (m - rho * V) / k, "m/s")', 9.8 * (0.020 - 1260 * 2.5e-6) / 0.25,
              unit="m/s", rel=1e-2, positive=True)
    s.numeric("Question 4", 1, r"Temps caractéristique $\tau=\frac mk$, avec son unité.",
              "tau", '(m / k, "s")', 0.08, unit="s", rel=1e-2, positive=True, name="τ")
    s.numeric("Question 5", 1, r"Accélération initiale $a_0$, avec son unité.", "a0",
              '(g * (1 - rho * V / m), "m/s2")', 9.8 * (1 - 1260 * 2.5e-6 / 0.020),
              unit="m/s2", rel=1e-2, positive=True)
    s.function("Question 6", 2.5, r"""Écrire `euler_vitesse(dt, n)` qui renvoie la liste
               $[v_0, \dots, v_n]$ calculée par la méthode d'Euler à partir de $v_0=0$
               (utiliser les constantes `m, V, rho, k, g` définies plus haut).""",
               "euler_vitesse", """
    def euler_vitesse(dt, n):
        v = [0.0]
        for _ in range(n):
            a = g * (1 - rho * V / m) - k / m * v[-1]
            v.append(v[-1] + a * dt)
        return v
    """, sample_args=(0.01, 3), returns="list", hidden="""
    v = euler_vitesse(0.01, 60)
    assert len(v) == 61
    check.expect_close(v[1], 0.082565, rel=1e-6, name="euler_vitesse")
    check.expect_close(v[2], 0.082565 + 0.01 * (8.2565 - 12.5 * 0.082565), rel=1e-6,
                       name="euler_vitesse")
    check.expect_close(v[60], 0.66052, rel=1e-3, name="euler_vitesse")
    """)
    s.numeric("Question 7", 1, r"""Vitesse de la bille à $t=0{,}24$ s (solution exacte
              $v=v_{lim}(1-e^{-t/\tau})$).""", "v024", '(0.66052 * (1 - math.exp(-3)), "m/s")',
              0.66052 * (1 - math.exp(-3)), unit="m/s", rel=1e-2, positive=True)


_XS = [round(2 * (1 - math.exp(-0.1 * t)), 3) for t in (0, 2, 4, 6, 8, 10, 15, 20, 30)]


@exercise("cinetique-chimique", 55)
def cinetique(s: Sheet):
    table = " | ".join(f"{x:.3f}".replace(".", ",") for x in _XS)
    _intro(s, "Cinétique chimique", 55, rf"""
    ## Énoncé

    On étudie à 25 °C la réaction lente
    $\mathrm{{H_2O_2+2I^-+2H_3O^+\to I_2+4H_2O}}$, dans un volume $V=100$ mL, avec
    $n_0(\mathrm{{H_2O_2}})=2{{,}}0$ mmol, $n_0(\mathrm{{I^-}})=10$ mmol et les ions
    $\mathrm{{H_3O^+}}$ en excès. Un dosage donne l'avancement $x$ :

    | $t$ (min) | 0 | 2 | 4 | 6 | 8 | 10 | 15 | 20 | 30 |
    |---|---|---|---|---|---|---|---|---|---|
    | $x$ (mmol) | {table} |
    """)
    s.setup(f"ts = [0, 2, 4, 6, 8, 10, 15, 20, 30]  # min\nxs = {_XS!r}  # mmol")
    s.numeric("Question 1", 1, r"Avancement maximal $x_{max}$, avec son unité.", "x_max",
              '(2.0, "mmol")', 2.0e-3, unit="mol", rel=1e-2, positive=True)
    s.qcm("Question 2", 1, "Le réactif limitant est :",
          {"a": r"$\mathrm{H_2O_2}$", "b": r"$\mathrm{I^-}$", "c": r"$\mathrm{H_3O^+}$",
           "d": "aucun : mélange stœchiométrique"}, "rep2", "a")
    s.numeric("Question 3", 1.5, r"""Concentration finale en diiode $[\mathrm{I_2}]_f$, avec son
              unité.""", "c_I2", '(2.0e-3 / 0.100, "mol/L")', 2.0e-2, unit="mol/L", rel=1e-2,
              positive=True)
    s.function("Question 4", 2, r"""Écrire `t_demi(ts, xs, x_max)` qui renvoie, par
               interpolation linéaire entre deux mesures, la date à laquelle
               $x=\frac{x_{max}}2$ (les `xs` sont croissants).""", "t_demi", """
    def t_demi(ts, xs, x_max):
        cible = x_max / 2
        for i in range(1, len(ts)):
            if xs[i] >= cible:
                return ts[i - 1] + (ts[i] - ts[i - 1]) * (cible - xs[i - 1]) / (xs[i] - xs[i - 1])
        raise ValueError("x_max/2 n'est pas atteint")
    """, sample_args=([0, 1, 2], [0.0, 1.0, 2.0], 2.0), hidden="""
    check.expect_close(t_demi(ts, xs, 2.0), 6 + 2 * (1.0 - 0.902) / (1.101 - 0.902), rel=1e-6,
                       name="t_demi")
    check.expect_close(t_demi([0, 10, 20], [0.0, 0.4, 0.8], 1.0), 12.5, rel=1e-9,
                       name="t_demi")
    """)
    s.numeric("Question 5", 1.5, r"Temps de demi-réaction $t_{1/2}$, avec son unité.", "t12",
              '(t_demi(ts, xs, 2.0), "min")', 6.93 * 60, unit="s", rel=3e-2, positive=True,
              name="t½")
    s.numeric("Question 6", 1, r"""On admet $x(t)=x_{max}\left(1-e^{-t/\tau}\right)$ avec
              $\tau=10$ min. Calculer la vitesse volumique de réaction à $t=0$, avec son unité.""",
              "v0", '(2.0 / 10 / 0.100, "mmol/L/min")', 2.0e-3 / 600 / 0.100,
              unit="mol/L/s", rel=2e-2, positive=True)
    s.manual("Question 7", 2, r"""Comment évolue la vitesse volumique de réaction au cours du
             temps ? Justifier graphiquement puis par un facteur cinétique. Quel serait l'effet
             d'une élévation de température sur $t_{1/2}$ et sur $x_{max}$ ?""", r"""
    $v=\frac1V\frac{dx}{dt}$ est proportionnelle à la pente de la tangente à $x(t)$, qui
    diminue : $v$ diminue (0,5 pt), car la concentration des réactifs (facteur cinétique)
    diminue (0,5 pt). À température plus élevée la réaction est plus rapide : $t_{1/2}$
    diminue (0,5 pt) mais $x_{max}$, fixé par le réactif limitant, ne change pas (0,5 pt).
    """)
