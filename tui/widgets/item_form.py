"""Moved: the one form is :mod:`comentor.tui.modals.form` (`ItemForm` is its `FormModal`,
`Field` its `field`), the check-in's new-item forms are in
:mod:`comentor.tui.screens.checkin_forms`. These re-exports go once every import moved."""

from ..modals.fields import field as Field  # noqa: F401
from ..modals.form import FormModal as ItemForm  # noqa: F401
from ..screens.checkin_forms import FORM_KINDS as FORM_KINDS  # noqa: F401
from ..screens.checkin_forms import item_form as item_form  # noqa: F401
