"""A Sphinx extension: the edition being built is a tag, for ```{only} instructor``` blocks.

`course_edition` (in _config.yml's `sphinx.config`) is "instructor" unless pragmatic.edition
set it to "student". The student edition's sources also lose their `{only} instructor` blocks,
so that text reaches neither its HTML nor its notebooks.
"""

EDITIONS = ("instructor", "student")


def add_edition_tag(app, config):
    if config.course_edition not in EDITIONS:
        raise ValueError(f"course_edition must be one of {', '.join(EDITIONS)}, "
                         f"got {config.course_edition!r}")
    app.tags.add(config.course_edition)


def setup(app):
    app.add_config_value("course_edition", "instructor", "env")
    app.connect("config-inited", add_edition_tag)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
