"""Forms of the administration pages."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField


class ImportForm(FlaskForm):
    file = FileField("CSV file of mentors", validators=[
        FileRequired("Choose a CSV file to upload."),
        FileAllowed(["csv"], "Upload a .csv file (in a spreadsheet: Save as, CSV UTF-8)."),
    ])
    publish = BooleanField("Publish the imported profiles straight away")
