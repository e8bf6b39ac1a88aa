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
    "vitals": N_("Vital signs"),
    "weight": N_("Weight and growth"),
    "allergy": N_("Allergy"),
    "aefi": N_("Adverse event following immunization (AEFI)"),
    # tests and results
    "antigen": N_("Rapid antigen test"),
    "pcr": N_("PCR test"),
    "positive": N_("Positive"),
    "negative": N_("Negative"),
    "invalid": N_("Invalid (no result)"),
    "hiv-rdt": N_("HIV 1/2 antibody rapid test"),
    "syphilis-rdt": N_("Syphilis rapid test"),
    "hbsag-rdt": N_("Hepatitis B surface antigen (HBsAg) rapid test"),
    "malaria-rdt": N_("Malaria rapid diagnostic test"),
    "tb-xpert": N_("MTB/RIF molecular test (tuberculosis)"),
    "reactive": N_("Reactive"),
    "non-reactive": N_("Non-reactive"),
    "malaria-pf": N_("P. falciparum (alone or mixed)"),
    "malaria-non-pf": N_("Non-falciparum malaria only"),
    "mtb-not-detected": N_("MTB not detected"),
    "mtb-rif-not-detected": N_("MTB detected, rifampicin resistance not detected"),
    "mtb-rif-detected": N_("MTB detected, rifampicin resistance detected"),
    "mtb-rif-indeterminate": N_("MTB detected, rifampicin resistance indeterminate"),
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
    # allergens and reactions (allergies and AEFI)
    "penicillin": N_("Penicillin"),
    "sulfonamide": N_("Sulfonamides (such as co-trimoxazole)"),
    "nsaid": N_("Anti-inflammatory painkillers (NSAIDs)"),
    "egg": N_("Egg"),
    "peanut": N_("Peanut"),
    "latex": N_("Latex"),
    "rash": N_("Rash"),
    "urticaria": N_("Hives (urticaria)"),
    "angioedema": N_("Swelling of face or lips (angioedema)"),
    "anaphylaxis": N_("Anaphylaxis"),
    "breathing-difficulty": N_("Difficulty breathing"),
    "seizure": N_("Seizure"),
    "fainting": N_("Fainting"),
    "injection-site-reaction": N_("Reaction where the injection was given"),
    # AEFI: WHO categories and outcomes
    "product-related": N_("Vaccine product-related reaction"),
    "quality-defect": N_("Vaccine quality defect-related reaction"),
    "immunization-error": N_("Immunization error-related reaction"),
    "anxiety-related": N_("Immunization anxiety-related reaction"),
    "coincidental": N_("Coincidental event"),
    "unclassified": N_("Not yet classified"),
    "recovered": N_("Recovered"),
    "recovering": N_("Recovering"),
    "not-recovered": N_("Not recovered"),
    "recovered-with-sequelae": N_("Recovered with lasting effects"),
    "died": N_("Died"),
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
    "tuberculosis": N_("Tuberculosis"),
    "pertussis": N_("Pertussis"),
    "hib": N_("Hib disease"),
    "pneumococcal": N_("Pneumococcal disease"),
    "rotavirus": N_("Rotavirus"),
    "hpv": N_("HPV"),
    "influenza": N_("Influenza"),
    "rabies": N_("Rabies"),
    "typhoid": N_("Typhoid"),
    "yellow-fever": N_("Yellow fever"),
    "hiv": N_("HIV"),
    "syphilis": N_("Syphilis"),
    "malaria": N_("Malaria"),
    # generic vaccines (brand names stay as they are)
    "mr": N_("Measles-rubella vaccine (MR)"),
    "mmr": N_("Measles-mumps-rubella vaccine (MMR)"),
    "td": N_("Tetanus-diphtheria vaccine (Td)"),
    "hepb": N_("Hepatitis B vaccine"),
    "ipv": N_("Inactivated polio vaccine (IPV)"),
    "bopv": N_("Oral polio vaccine (bOPV)"),
    "ocv": N_("Oral cholera vaccine (OCV)"),
}

# Routine vaccines whose keys are also the names of diseases (hpv, influenza, rabies) are named here.
PRODUCTS: dict[str, str] = {
    "bcg": N_("BCG vaccine (tuberculosis)"),
    "penta": N_("Pentavalent vaccine (DTwP-HepB-Hib)"),
    "pcv": N_("Pneumococcal conjugate vaccine (PCV)"),
    "rotarix": N_("Rotavirus vaccine, 2 doses"),
    "rota3": N_("Rotavirus vaccine, 3 doses"),
    "hpv": N_("Human papillomavirus vaccine (HPV)"),
    "influenza": N_("Seasonal influenza vaccine (inactivated)"),
    "rabies": N_("Rabies vaccine (cell-culture)"),
    "tcv": N_("Typhoid conjugate vaccine (TCV)"),
    "yf": N_("Yellow fever vaccine"),
}


def product_name(key: str) -> str:
    """The msgid to show for a product: a translatable generic name, or the catalogue's brand name."""
    return PRODUCTS.get(key) or WORDS.get(key) or catalogue().product(key).name


def word(value: str) -> str:
    """The msgid for a coded value (unknown values are shown as they are)."""
    return WORDS.get(value, value)
