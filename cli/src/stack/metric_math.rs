//! The part of CloudWatch metric math the local stack evaluates: what the alarms this tool creates
//! use (numbers, the queries' ids, `+ - * /`, comparisons, `IF(c, a, b)`, `FILL(m, v)`), one
//! datapoint per id. moto stores alarms but never evaluates them (`../shared/LOCAL-AWS.md`), and
//! no crate evaluates CloudWatch's expression language, so this small parser is ours; anything
//! outside the subset is an error that names it, never a silent 0.
//!
//! Missing data propagates as CloudWatch's does for a time series without a point: an operation
//! on a missing value has no value, `FILL` supplies one, division by zero has none.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("metric math `{expression}`: {message}")]
pub struct MathError {
    pub expression: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Id(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Id(String),
    Neg(Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Fill(Box<Expr>, Box<Expr>),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '+' | '-' | '*' | '/' => {
                out.push(Tok::Op(match c {
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    _ => "/",
                }));
                i += 1
            }
            '<' | '>' | '=' | '!' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    ('>', false) => ">",
                    ('=', true) => "==",
                    ('!', true) => "!=",
                    _ => return Err(format!("unexpected '{c}'")),
                };
                out.push(Tok::Op(op));
                i += if two { 2 } else { 1 };
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    text.parse()
                        .map_err(|_| format!("'{text}' is not a number"))?,
                ));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Id(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

fn binding(op: &str) -> u8 {
    match op {
        "<" | "<=" | ">" | ">=" | "==" | "!=" => 1,
        "+" | "-" => 2,
        _ => 3,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(got) if got == t => Ok(()),
            got => Err(format!("expected {t:?}, found {got:?}")),
        }
    }
    fn expr(&mut self, min: u8) -> Result<Expr, String> {
        let mut lhs = self.atom()?;
        while let Some(Tok::Op(op)) = self.peek().cloned() {
            let b = binding(op);
            if b < min {
                break;
            }
            self.next();
            let rhs = self.expr(b + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    fn args(&mut self, name: &str, n: usize) -> Result<Vec<Expr>, String> {
        self.expect(Tok::Open)?;
        let mut out = vec![self.expr(0)?];
        while self.peek() == Some(&Tok::Comma) {
            self.next();
            out.push(self.expr(0)?);
        }
        self.expect(Tok::Close)?;
        if out.len() != n {
            return Err(format!("{name} takes {n} arguments, got {}", out.len()));
        }
        Ok(out)
    }
    fn atom(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Op("-")) => Ok(Expr::Neg(Box::new(self.expr(3)?))),
            Some(Tok::Open) => {
                let e = self.expr(0)?;
                self.expect(Tok::Close)?;
                Ok(e)
            }
            Some(Tok::Id(name)) if self.peek() == Some(&Tok::Open) => {
                if name != "IF" && name != "FILL" {
                    return Err(format!(
                        "function {name} is not supported by the local evaluator (IF, FILL)"
                    ));
                }
                let mut a = self
                    .args(&name, if name == "IF" { 3 } else { 2 })?
                    .into_iter();
                let mut take = || Box::new(a.next().unwrap_or(Expr::Num(0.0)));
                match name.as_str() {
                    "IF" => Ok(Expr::If(take(), take(), take())),
                    "FILL" => Ok(Expr::Fill(take(), take())),
                    other => Err(format!(
                        "function {other} is not supported by the local evaluator (IF, FILL)"
                    )),
                }
            }
            Some(Tok::Id(name)) => Ok(Expr::Id(name)),
            got => Err(format!("unexpected {got:?}")),
        }
    }
}

/// Parse an expression of the subset.
pub fn parse(expression: &str) -> Result<Expr, MathError> {
    let err = |message| MathError {
        expression: expression.to_owned(),
        message,
    };
    let toks = lex(expression).map_err(err)?;
    let mut p = Parser { toks, at: 0 };
    let e = p.expr(0).map_err(err)?;
    if p.at != p.toks.len() {
        return Err(err(format!("unexpected {:?}", p.toks[p.at])));
    }
    Ok(e)
}

/// The value of `e` with each id's datapoint (`None`: the id has no datapoint). An id that is
/// not a query of the alarm is an error.
pub fn eval(e: &Expr, values: &HashMap<String, Option<f64>>) -> Result<Option<f64>, String> {
    Ok(match e {
        Expr::Num(n) => Some(*n),
        Expr::Id(id) => *values
            .get(id)
            .ok_or_else(|| format!("'{id}' is not the id of a query"))?,
        Expr::Neg(a) => eval(a, values)?.map(|v| -v),
        Expr::Fill(a, v) => eval(a, values)?.or(eval(v, values)?),
        Expr::If(c, a, b) => match eval(c, values)? {
            None => None,
            Some(c) if c != 0.0 => eval(a, values)?,
            Some(_) => eval(b, values)?,
        },
        Expr::Bin(op, a, b) => {
            let (Some(a), Some(b)) = (eval(a, values)?, eval(b, values)?) else {
                return Ok(None);
            };
            let truth = |t: bool| Some(if t { 1.0 } else { 0.0 });
            match *op {
                "+" => Some(a + b),
                "-" => Some(a - b),
                "*" => Some(a * b),
                "/" if b == 0.0 => None,
                "/" => Some(a / b),
                "<" => truth(a < b),
                "<=" => truth(a <= b),
                ">" => truth(a > b),
                ">=" => truth(a >= b),
                "==" => truth(a == b),
                _ => truth(a != b),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(pairs: &[(&str, Option<f64>)]) -> HashMap<String, Option<f64>> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn the_guard_expression_is_evaluated_as_cloudwatch_would() {
        let e = parse("IF(ri >= 10, 100 * FILL(re, 0) / ri - 100 * FILL(pe, 0) / FILL(pi, 1), 0)")
            .unwrap();
        let at = |ri, re, pi, pe| {
            eval(&e, &v(&[("ri", ri), ("re", re), ("pi", pi), ("pe", pe)])).unwrap()
        };
        // 5 of 20 Rust invocations failed, 1 of 100 Python ones: 25 − 1 = 24 points.
        assert_eq!(
            at(Some(20.0), Some(5.0), Some(100.0), Some(1.0)),
            Some(24.0)
        );
        // No Errors datapoint means no errors.
        assert_eq!(at(Some(20.0), None, Some(100.0), None), Some(0.0));
        // Below the minimum sample: 0, not a breach.
        assert_eq!(at(Some(9.0), Some(9.0), Some(100.0), None), Some(0.0));
        // No Rust invocations at all: no datapoint (missing data).
        assert_eq!(at(None, None, Some(100.0), None), None);
        // Python without traffic (Rust at 100 %): compared with 0.
        assert_eq!(at(Some(10.0), Some(1.0), None, None), Some(10.0));
    }

    #[test]
    fn precedence_and_errors() {
        let e = |s: &str| eval(&parse(s).unwrap(), &HashMap::new()).unwrap();
        assert_eq!(e("1 + 2 * 3"), Some(7.0));
        assert_eq!(e("(1 + 2) * 3"), Some(9.0));
        assert_eq!(e("10 - 4 - 3"), Some(3.0));
        assert_eq!(e("-2 * 3"), Some(-6.0));
        assert_eq!(e("1 / 0"), None);
        assert_eq!(e("2 > 1"), Some(1.0));
        assert!(parse("RATE(m1)")
            .unwrap_err()
            .message
            .contains("not supported"));
        assert!(parse("1 +").is_err());
        assert!(parse("IF(1, 2)").is_err());
        assert!(parse("1 2").is_err());
        assert!(eval(&parse("x + 1").unwrap(), &HashMap::new()).is_err());
    }
}
