"""The rendering layer: HTML pages and charts over what :mod:`transforms.report`
computed. Plotly draws every chart (its JavaScript is written once beside the pages as
``plotly.min.js``, so the pages make no network request); Jinja2 lays the pages out."""
