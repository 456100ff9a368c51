"""A labelled relevance set for the register's search: profiles, decoys and queries.

Each topic has one mentor who is the right answer (their profile holds both
words of the topic) and decoys built to fool the search: one shares every
word of the query but the first, another every word but the second, and
each says its word more often and in weightier fields (name, role,
expertise) than the right mentor does. A search that drops or mis-weights a
word therefore ranks a decoy first.

Queries per topic cover what people really type: a misspelling in one word
of several, the words in reverse order, another form of a word, a
half-typed last word, missing accents, and role titles. QUERIES maps each
query to the names of the mentors that are relevant to it.
"""

from __future__ import annotations

# name: (headline, organisation, sector, expertise, bio)
PROFILES: dict[str, tuple[str, str, str, list[str], str]] = {
    # grant writing
    "Nadia Kowalski": (
        "Research development manager", "University of Sheffield", "academia",
        ["grant writing", "research funding"],
        "I help early-career researchers plan their first funding bids. I have read hundreds "
        "of applications and I support bid teams through grant writing retreats."),
    "Oliver Grant": (
        "Grants officer", "Wellcome Partners", "charity", ["grant management", "grant reporting"],
        "I manage a portfolio of grants for a medical charity. Grant holders come to me with "
        "questions about budgets, reporting and grant conditions. I support them all year."),
    "Helen Marsh": (
        "Writing coach", "Marsh Writing", "industry",
        ["academic writing", "writing for publication"],
        "Writing is a craft: I run writing groups, writing weekends and writing support for "
        "doctoral students who are stuck. I have published three books about writing."),
    "Ruth Ellison": (
        "Copy editor", "Ellison Editorial", "industry", ["editing", "proofreading"],
        "I edit reports and papers for clarity. Authors send me their writting, and I send it "
        "back shorter and plainer, with notes on style and support for the next draft."),
    # epidemiology methods
    "Kwame Mensah": (
        "Epidemiologist", "London School of Hygiene", "academia",
        ["epidemiology", "research methods"],
        "I teach the methods behind cohort and case-control studies and help clinicians turn "
        "a question into a study design."),
    "Ingrid Solberg": (
        "Senior epidemiologist", "Public Health Agency", "government",
        ["infectious disease epidemiology", "outbreak epidemiology"],
        "Epidemiology has been my whole career: outbreak epidemiology, surveillance and "
        "epidemiology training for field teams."),
    "Tomasz Wrobel": (
        "Methods lecturer", "University of Warwick", "academia",
        ["qualitative methods", "mixed methods"],
        "I teach research methods: interview methods, mixed methods and survey methods. "
        "Methods are what I love to talk about."),
    # leadership coaching
    "Amara Okafor": (
        "Executive coach", "Okafor Associates", "industry", ["leadership", "coaching"],
        "I coach senior clinicians moving into leadership roles, from clinical director to "
        "chief executive. Coaching conversations are confidential and practical."),
    "Daniel Leadbetter": (
        "Head of leadership development", "NHS Leadership Academy", "nhs",
        ["leadership development", "leadership programmes"],
        "I design leadership programmes and leadership assessments. Leadership is the subject "
        "of my doctorate and of every programme I run."),
    "Sophie Turner": (
        "Sports coach", "Team Yorkshire", "other", ["coaching", "performance coaching"],
        "Coaching athletes taught me everything I know about coaching people at work. I coach "
        "teams, coach individuals and train other coaches."),
    # patient safety
    "Fiona McAllister": (
        "Patient safety specialist", "Royal Infirmary", "nhs", ["patient safety", "human factors"],
        "I investigate incidents and teach human factors so that wards learn from near misses "
        "and keep patients safe."),
    "Graham Patel": (
        "Patient experience manager", "City Hospitals", "nhs",
        ["patient experience", "patient involvement"],
        "Patient voices shape my work: patient panels, patient surveys and patient stories "
        "at the board."),
    "Bronwen Evans": (
        "Health and safety adviser", "Cymru Construction", "industry",
        ["health and safety", "fire safety"],
        "Safety is my trade: site safety, fire safety audits and safety training for managers."),
    # fundraising strategy
    "Hannah Osei": (
        "Director of fundraising", "Children First", "charity",
        ["fundraising", "strategy"],
        "I wrote the fundraising strategy that doubled our income in five years and I help "
        "small charities set priorities for growth."),
    "Felix Hartmann": (
        "Community fundraiser", "Hospice at Home", "charity",
        ["community fundraising", "fundraising events"],
        "Fundraising events are my life: fundraising walks, fundraising dinners and fundraising "
        "with schools. I love fundraising."),
    "Mei Lin": (
        "Strategy consultant", "Northbridge Strategy", "industry",
        ["corporate strategy", "strategy development"],
        "Strategy work for twenty years: strategy reviews, strategy away-days and strategy "
        "documents that boards actually read."),
    # data visualisation
    "Lucia Ferreira": (
        "Data analyst", "Office for National Statistics", "government",
        ["data visualisation", "official statistics"],
        "I turn tables into charts people understand and I teach visualisation to analysts "
        "across government."),
    "Rajesh Kumar": (
        "Data engineer", "Northwind Analytics", "industry", ["data pipelines", "data quality"],
        "Data is what I build with: data platforms, data pipelines, data quality checks and "
        "data contracts."),
    "Clara Visser": (
        "Illustrator", "Visser Studio", "other", ["illustration", "visual design"],
        "I draw for science magazines: visual explainers, visual identities and the occasional "
        "visualisation of a poem."),
    # medical education
    "Samuel Adeyemi": (
        "Director of medical education", "St Luke's Hospital", "nhs",
        ["medical education", "simulation"],
        "I run the foundation programme and teach educators how to give feedback that lands."),
    "Eleanor Price": (
        "Medical director", "Riverside Trust", "nhs", ["medical leadership", "medical workforce"],
        "Medical workforce planning, medical appraisal and medical revalidation fill my week "
        "as medical director."),
    "George Whitaker": (
        "Head of education", "Whitaker Academy", "academia",
        ["education policy", "teacher education"],
        "Education has been my life: school education, adult education and education research "
        "for the department."),
    # palliative care
    "Margaret O'Neill": (
        "Palliative care consultant", "St Anne's Hospice", "charity",
        ["palliative care", "end of life care"],
        "I look after people in their last months and support families through bereavement."),
    "Peter Lindqvist": (
        "Palliative medicine researcher", "Karolinska Institutet", "academia",
        ["palliative medicine", "palliative research"],
        "Palliative research is my field: palliative symptom studies and palliative trials "
        "across Sweden."),
    "Joanne Fletcher": (
        "Care home manager", "Meadow View Care", "industry", ["care homes", "social care"],
        "Care is what we do: residential care, respite care and care for people living with "
        "long-term conditions."),
    # change management
    "Victoria Hale": (
        "Transformation director", "County Council", "government",
        ["change management", "organisational design"],
        "I have led four restructures and I help managers take their teams through change "
        "without losing them."),
    "Arjun Mehta": (
        "Climate change scientist", "Met Office", "government",
        ["climate change", "change detection"],
        "Climate change is my research: change in rainfall, change in sea level and how we "
        "communicate change to the public."),
    "Rebecca Stone": (
        "Practice manager", "Riverside Surgery", "nhs", ["practice management", "management"],
        "Management of a busy practice: rota management, budget management and staff "
        "management."),
    # dementia care
    "Gwen Roberts": (
        "Admiral nurse", "Dementia UK", "charity", ["dementia", "family carers"],
        "I support families caring for someone with dementia and help care teams plan "
        "person-centred care."),
    "Harold Fischer": (
        "Dementia researcher", "University College London", "academia",
        ["dementia research", "dementia genetics"],
        "Dementia genetics, dementia biomarkers and dementia prevention trials."),
    # names, with and without accents
    "Renée Dubois": (
        "Midwife", "Hôpital Saint-Louis", "nhs", ["midwifery", "birth trauma"],
        "I came from Lyon to London and I mentor midwives in their first posts."),
    "Renee Martin": (
        "Renal nurse", "Kidney Care Centre", "nhs", ["renal nursing", "dialysis"],
        "Renee by name: dialysis units, renal wards and Renee's renal nursing course."),
    "Paul Dubois": (
        "Financial controller", "Dubois et Fils", "industry", ["finance", "audit"],
        "Paul Dubois of Dubois et Fils: audit, finance and Dubois family business."),
    "Seán Ó Briain": (
        "Public health consultant", "Health Service Executive", "government",
        ["public health", "health protection"],
        "Based in Galway, I have worked on vaccination programmes and health protection."),
    "Sean Murphy": (
        "Sean the plumber turned trainer", "Murphy Training", "other", ["apprenticeships"],
        "Sean trains apprentices; Sean Murphy's apprenticeship scheme."),
    # nurse consultant
    "Priya Nair": (
        "Nurse consultant", "Royal Marsden", "nhs", ["oncology nursing", "advanced practice"],
        "I lead advanced practice for cancer nurses and help nurses build a portfolio for "
        "consultant posts."),
    "Henry Blake": (
        "Consultant surgeon", "General Hospital", "nhs", ["surgery", "consultant job planning"],
        "Consultant for twenty years: consultant interviews, consultant job plans and "
        "consultant appraisal."),
    "Alice Morgan": (
        "Nurse educator", "School of Nursing", "academia", ["nurse education", "nursing"],
        "Nurse education, nurse preceptorship and nurse revalidation are my daily work."),
    # trustee governance
    "Catherine Boyd": (
        "Chair of trustees", "Youth Action", "charity", ["trustee boards", "governance"],
        "I have chaired three charity boards and help new trustees read accounts and ask "
        "good questions."),
    "Martin Trusted": (
        "Trustee recruitment adviser", "Getting on Board", "charity",
        ["trustee recruitment", "trustee induction"],
        "Trustee recruitment, trustee induction and trustee roles for young people."),
    "Nisha Gupta": (
        "Governance lead", "Housing Association", "industry",
        ["corporate governance", "information governance"],
        "Governance frameworks, governance reviews and governance training for boards."),
    # software engineering
    "Ethan Brooks": (
        "Principal engineer", "Northwind Software", "industry",
        ["software engineering", "architecture"],
        "I design systems that last, review code and help engineers grow into technical "
        "leaders."),
    "Yusuf Khan": (
        "Software sales director", "Softline", "industry", ["software sales", "software licensing"],
        "Software licensing deals and software sales teams, software partnerships."),
    "Ivy Chen": (
        "Civil engineer", "Arup", "industry", ["structural engineering", "engineering management"],
        "Engineering bridges and engineering teams: engineering chartership and engineering "
        "careers."),
    # research ethics
    "Abigail Foster": (
        "Research ethics adviser", "Health Research Authority", "government",
        ["research ethics", "consent"],
        "I chair a research ethics committee and help applicants answer what committees ask."),
    "Lars Eriksen": (
        "Researcher", "Nordic Institute", "academia", ["research", "research careers"],
        "Research, research and more research: research careers, research funding, research "
        "culture."),
    "Miriam Cohen": (
        "Ethics lecturer", "King's College", "academia", ["ethics", "medical ethics"],
        "Ethics seminars, ethics teaching and clinical ethics consultation."),
    # mental health
    "Kofi Asante": (
        "Consultant psychiatrist", "Maudsley", "nhs", ["mental health", "psychiatry"],
        "I work with young people in crisis and I help trainees prepare for their "
        "membership exams."),
    "Laura Mental": (
        "Mental arithmetic tutor", "Numbers Club", "academia", ["mental arithmetic"],
        "Mental maths, mental arithmetic games and mental agility for children."),
    "Derek Health": (
        "Health visitor", "Community Health", "nhs", ["health visiting", "child health"],
        "Health visiting, child health clinics and health checks."),
}

# query: the relevant mentors
QUERIES: dict[str, set[str]] = {
    # grant writing: a typo in one word of several, order, half-typed, a known misspelling
    "grant writting": {"Nadia Kowalski"},
    "grant writting support": {"Nadia Kowalski"},
    "writing grant": {"Nadia Kowalski"},
    "grant writ": {"Nadia Kowalski"},
    "grnt writing": {"Nadia Kowalski"},
    # epidemiology methods
    "epidemiolgy methods": {"Kwame Mensah"},
    "methods epidemiology": {"Kwame Mensah"},
    "epidemiology method": {"Kwame Mensah"},
    "epidemiology meth": {"Kwame Mensah"},
    "epidemiology mehtods": {"Kwame Mensah"},
    # leadership coaching
    "leadrship coaching": {"Amara Okafor"},
    "coaching leadership": {"Amara Okafor"},
    "leadership coachng": {"Amara Okafor"},
    "leader coach": {"Amara Okafor"},
    "leadership coa": {"Amara Okafor"},
    # patient safety
    "patient safty": {"Fiona McAllister"},
    "safety patient": {"Fiona McAllister"},
    "patiant safety": {"Fiona McAllister"},
    "patient saf": {"Fiona McAllister"},
    # fundraising strategy
    "fundrasing strategy": {"Hannah Osei"},
    "strategy fundraising": {"Hannah Osei"},
    "fundraising strategies": {"Hannah Osei"},
    "fundraising strat": {"Hannah Osei"},
    # data visualisation
    "data visualization": {"Lucia Ferreira"},
    "visualisation data": {"Lucia Ferreira"},
    "data visualisaton": {"Lucia Ferreira"},
    "data visu": {"Lucia Ferreira"},
    # medical education
    "medical educaton": {"Samuel Adeyemi"},
    "education medical": {"Samuel Adeyemi"},
    "medical educators": {"Samuel Adeyemi"},
    "medical educ": {"Samuel Adeyemi"},
    # palliative care
    "paliative care": {"Margaret O'Neill"},
    "care palliative": {"Margaret O'Neill"},
    "palliative caring": {"Margaret O'Neill"},
    "care palliat": {"Margaret O'Neill"},
    # change management
    "change managment": {"Victoria Hale"},
    "management change": {"Victoria Hale"},
    "managing change": {"Victoria Hale"},
    "change manag": {"Victoria Hale"},
    # dementia care
    "dementa care": {"Gwen Roberts"},
    "care dementia": {"Gwen Roberts"},
    "dementia carers": {"Gwen Roberts"},
    "care demen": {"Gwen Roberts"},
    # names: accents left out, reversed, misspelt, half-typed
    "renee dubois": {"Renée Dubois"},
    "dubois renee": {"Renée Dubois"},
    "renée dubios": {"Renée Dubois"},
    "renee dub": {"Renée Dubois"},
    "sean o briain": {"Seán Ó Briain"},
    "seán briain": {"Seán Ó Briain"},
    "sean brian": {"Seán Ó Briain"},
    # role titles
    "nurse consultant": {"Priya Nair"},
    "consultant nurse": {"Priya Nair"},
    "nurse consultent": {"Priya Nair"},
    "nurse cons": {"Priya Nair"},
    "midwife mentor": {"Renée Dubois"},
    "admiral nurse": {"Gwen Roberts"},
    "transformation director": {"Victoria Hale"},
    # trustee governance
    "trustee governance": {"Catherine Boyd"},
    "governance trustees": {"Catherine Boyd"},
    "trustee governence": {"Catherine Boyd"},
    "trustee gov": {"Catherine Boyd"},
    # software engineering
    "sofware engineering": {"Ethan Brooks"},
    "engineering software": {"Ethan Brooks"},
    "software engineer": {"Ethan Brooks"},
    "software eng": {"Ethan Brooks"},
    # research ethics
    "reserch ethics": {"Abigail Foster"},
    "ethics research": {"Abigail Foster"},
    "research ethic": {"Abigail Foster"},
    "research eth": {"Abigail Foster"},
    # mental health
    "mental helth": {"Kofi Asante"},
    "health mental": {"Kofi Asante"},
    "mentl health psychiatry": {"Kofi Asante"},
}
