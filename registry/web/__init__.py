"""The browser pages: routes, function views, forms and small SVG charts."""
