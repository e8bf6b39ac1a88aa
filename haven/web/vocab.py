"""Words for the coded values pages show (entry types, tests, results, symptoms...), marked for translation.

Product names stay as the catalogue writes them where they are brand names;
the generic vaccines get a translated name.
"""

from __future__ import annotations

from haven.core.catalogue import catalogue
from haven.web.i18n import N_

WORDS: dict[str, str] = {
    # staff roles
    "registrar": N_("Registrar"),
    "clinician": N_("Clinician"),
    "coordinator": N_("Coordinator"),
    # entry types and kinds of count
    "vaccination": N_("Vaccination"),
    "test": N_("Test"),
    "treatment": N_("Treatment"),
    "consultation": N_("Consultation"),
    "note": N_("Note"),
    # tests and results
    "antigen": N_("Rapid antigen test"),
    "pcr": N_("PCR test"),
    "positive": N_("Positive"),
    "negative": N_("Negative"),
    "invalid": N_("Invalid (no result)"),
    # samples
    "nasopharyngeal": N_("Nasopharyngeal swab"),
    "oropharyngeal": N_("Throat swab"),
    "nasal": N_("Nasal swab"),
    "saliva": N_("Saliva"),
    "blood": N_("Blood"),
    # severities
    "mild": N_("Mild"),
    "moderate": N_("Moderate"),
    "severe": N_("Severe"),
    "critical": N_("Critical"),
    "unknown": N_("Unknown"),
    # symptoms
    "fever": N_("Fever"),
    "cough": N_("Cough"),
    "shortness-of-breath": N_("Shortness of breath"),
    "sore-throat": N_("Sore throat"),
    "loss-of-taste-or-smell": N_("Loss of taste or smell"),
    "fatigue": N_("Fatigue"),
    "headache": N_("Headache"),
    "muscle-pain": N_("Muscle pain"),
    "diarrhoea": N_("Diarrhoea"),
    "vomiting": N_("Vomiting"),
    "runny-nose": N_("Runny nose"),
    "chest-pain": N_("Chest pain"),
    "confusion": N_("Confusion"),
    "other": N_("Other"),
    # sexes
    "female": N_("Female"),
    "male": N_("Male"),
    # next dose
    "not-yet": N_("Not yet"),
    "due": N_("Due"),
    "overdue": N_("Overdue"),
    "primary": N_("Primary series"),
    "booster": N_("Booster"),
    "live vaccine: not during pregnancy": N_("Live vaccine: not during pregnancy"),
    "high-priority groups: age 60 and over, pregnancy, immunocompromise, health workers (WHO SAGE roadmap, 2023)": N_(
        "For high-priority groups: age 60 and over, pregnancy, immunocompromise, health workers"
    ),
    # diseases (the verifier names what a certificate covers)
    "covid-19": N_("COVID-19"),
    "measles": N_("Measles"),
    "mumps": N_("Mumps"),
    "rubella": N_("Rubella"),
    "tetanus": N_("Tetanus"),
    "diphtheria": N_("Diphtheria"),
    "hepatitis-b": N_("Hepatitis B"),
    "polio": N_("Polio"),
    "cholera": N_("Cholera"),
    # generic vaccines (brand names stay as they are)
    "mr": N_("Measles-rubella vaccine (MR)"),
    "mmr": N_("Measles-mumps-rubella vaccine (MMR)"),
    "td": N_("Tetanus-diphtheria vaccine (Td)"),
    "hepb": N_("Hepatitis B vaccine"),
    "ipv": N_("Inactivated polio vaccine (IPV)"),
    "bopv": N_("Oral polio vaccine (bOPV)"),
    "ocv": N_("Oral cholera vaccine (OCV)"),
}


def product_name(key: str) -> str:
    """The msgid to show for a product: a translatable generic name, or the catalogue's brand name."""
    return WORDS.get(key) or catalogue().product(key).name


def word(value: str) -> str:
    """The msgid for a coded value (unknown values are shown as they are)."""
    return WORDS.get(value, value)
