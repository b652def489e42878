//! Keyset pagination: a page is "the next `limit` rows after this one" in a stable order, so
//! rows written meanwhile never shift a page and the database reads only what it returns.

/// Where the previous page ended: the sort key of its last row (one or two numbers, then the
/// id that breaks ties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub keys: Vec<i64>,
    pub id: String,
}

impl Cursor {
    pub fn new(keys: &[i64], id: &str) -> Self {
        Self {
            keys: keys.to_vec(),
            id: id.to_owned(),
        }
    }

    /// The `n`th key, or `default` when the cursor has fewer.
    pub fn key(&self, n: usize, default: i64) -> i64 {
        self.keys.get(n).copied().unwrap_or(default)
    }

    /// `12,34:id` — what the faces wrap (base64 for the API, a query parameter for pages).
    pub fn to_text(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(ToString::to_string).collect();
        format!("{}:{}", keys.join(","), self.id)
    }

    /// The inverse of [`Cursor::to_text`]; `None` for anything else.
    pub fn from_text(text: &str) -> Option<Self> {
        let (keys, id) = text.split_once(':')?;
        let id_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if id.is_empty() || id.len() > 64 || !id.chars().all(id_char) {
            return None;
        }
        let keys = keys
            .split(',')
            .map(|k| k.parse::<i64>().ok())
            .collect::<Option<Vec<_>>>()?;
        if keys.is_empty() || keys.len() > 3 {
            return None;
        }
        Some(Self {
            keys,
            id: id.to_owned(),
        })
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page (the store reads one more to know whether another page follows).
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub fn first(limit: i64) -> Self {
        Self { limit, after: None }
    }

    /// How many rows to read: one more than a page.
    pub fn fetch(&self) -> i64 {
        self.limit.saturating_add(1)
    }
}

/// One page of rows and where the next one starts (`None`: this is the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Cuts `rows` (read with [`PageRequest::fetch`]) to the page, keying the next cursor on
    /// the page's last row.
    pub fn of(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> Cursor) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(0);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_refuse_anything_else() {
        let c = Cursor::new(&[1_768_471_200_000, 5], "abc123");
        assert_eq!(Cursor::from_text(&c.to_text()), Some(c));
        assert_eq!(
            Cursor::from_text("17:xyz"),
            Some(Cursor::new(&[17], "xyz")),
            "the one-key form the API handed out before"
        );
        for bad in [
            "",
            "17",
            ":id",
            "x:id",
            "1,2,3,4:id",
            "1:",
            "1:a b",
            "1:a'--",
        ] {
            assert_eq!(Cursor::from_text(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_page_stops_at_its_limit_and_names_the_next() {
        let req = PageRequest::first(2);
        let key = |n: &i64| Cursor::new(&[*n], "x");
        let page = Page::of(vec![9, 8, 7], &req, key);
        assert_eq!(page.items, [9, 8]);
        assert_eq!(page.next, Some(Cursor::new(&[8], "x")));
        let last = Page::of(vec![9, 8], &req, key);
        assert_eq!(last.next, None);
    }
}
