# The step definitions live in steps/ (features/ holds only Gherkin); this root conftest makes them
# available to every feature. The bascule plugin itself is loaded through its pytest11 entry point.
pytest_plugins = ["steps.commun", "steps.fichiers_et_ftp", "steps.pannes", "steps.reseau", "steps.configuration"]
