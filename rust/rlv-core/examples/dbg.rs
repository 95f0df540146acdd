fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut b = rlv_core::grading::budget::Budget::new(100_000);
    for a in &args[1..] {
        eprintln!("{a:?} => {:?}", rlv_core::grading::parse::parse(a, &mut b));
    }
    if args.len() == 3 {
        eprintln!(
            "{:?}",
            rlv_core::grading::is_equiv(&args[1], &args[2], &Default::default())
        );
    }
}
