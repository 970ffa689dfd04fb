"""numpyml: the product's own pure-numpy machine-learning library.

numpy is its only runtime dependency; it never imports Django or scikit-learn. It follows
scikit-learn's names and conventions (fit/predict, get_params/set_params, attributes
ending in `_`) and saves models without pickle (`save`/`load`).
"""

from numpyml._version import __version__ as __version__
from numpyml.cluster import KMeans
from numpyml.compose import ColumnTransformer
from numpyml.decomposition import PCA
from numpyml.exceptions import (
    ConvergenceWarning,
    ModelFormatError,
    ModelSizeError,
    NotFittedError,
)
from numpyml.linear_model import LinearRegression, LogisticRegression, Perceptron
from numpyml.mixture import GaussianMixture
from numpyml.naive_bayes import GaussianNB, MultinomialNB
from numpyml.neighbors import KNeighborsClassifier, KNeighborsRegressor
from numpyml.persistence import load, save
from numpyml.pipeline import Pipeline, make_pipeline
from numpyml.preprocessing import (
    DateFeatures,
    LabelEncoder,
    OneHotEncoder,
    SimpleImputer,
    StandardScaler,
)
from numpyml.svm import SVC
from numpyml.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "PCA",
    "SVC",
    "ColumnTransformer",
    "ConvergenceWarning",
    "DateFeatures",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "GaussianMixture",
    "GaussianNB",
    "KMeans",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "LabelEncoder",
    "LinearRegression",
    "LogisticRegression",
    "ModelFormatError",
    "ModelSizeError",
    "MultinomialNB",
    "NotFittedError",
    "OneHotEncoder",
    "Perceptron",
    "Pipeline",
    "SimpleImputer",
    "StandardScaler",
    "load",
    "make_pipeline",
    "save",
]
