"""People: the command line, figures, network drawings, animations and the dashboard."""
