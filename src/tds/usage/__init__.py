"""Usage reports: credits spent and renders, per project code or per member, over a window."""
