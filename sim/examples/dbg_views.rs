use colony_sim::engine::Engine;
use colony_sim::scenario::Scenario;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let s = Scenario::load(&path).unwrap();
    let mut spec = s.spec(1).unwrap();
    spec.stop.duration_ns = std::env::args().nth(2).map_or(2_900_000_000, |v| v.parse().unwrap());
    spec.stop.at_full_coverage = false;
    let mut e = Engine::new(spec).unwrap();
    let r = e.run(1, &mut |_| {});
    let mut hist = std::collections::BTreeMap::new();
    let mut phist = std::collections::BTreeMap::new();
    for n in e.nodes() { *hist.entry(n.active_view().len()).or_insert(0) += 1; *phist.entry(n.passive_view().len()).or_insert(0) += 1; }
    println!("active {hist:?}\npassive {phist:?}");
    println!("{:?}", r.totals.drops);
    let mut asym = 0; for (i, n) in e.nodes().iter().enumerate() { for p in n.active_view() { if !e.nodes()[*p as usize].active_view().contains(&(i as u32)) { asym += 1; } } }
    println!("asymmetric active links {asym}");
    let n = e.nodes().len();
    let mut comp = vec![usize::MAX; n];
    let mut sizes = vec![];
    for start in 0..n { if comp[start] != usize::MAX { continue; } let id = sizes.len(); let mut stack = vec![start]; comp[start]=id; let mut size=0;
        while let Some(v) = stack.pop() { size+=1; for p in e.nodes()[v].active_view() { let p=*p as usize; if comp[p]==usize::MAX { comp[p]=id; stack.push(p);} }
            for (u, node) in e.nodes().iter().enumerate() { let _ = (u, node); } }
        sizes.push(size); }
    sizes.sort(); sizes.reverse(); println!("components (directed reach) {:?}", &sizes[..sizes.len().min(10)]);
}
#[allow(dead_code)]
fn unused() {}
