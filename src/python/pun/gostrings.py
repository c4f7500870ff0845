"""Go's text rules where BuildKit's or urunc's behaviour depends on them.

Hot-path safe (the Containerfile splitter uses it): no imports.
"""

# Go's unicode.IsSpace (Latin-1 spaces, then the White_Space property), what strings.TrimSpace
# and strings.Fields take: Python's str.isspace()/strip() also count U+001C..U+001F, Go does not.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
