"""The setup wizard (vendor → product → key → authenticate → map clients → activate)."""

from gradient_desktop.ui.wizard.wizard import SetupWizard

__all__ = ["SetupWizard"]
