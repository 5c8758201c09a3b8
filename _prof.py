import torch, tensorexpr as te, time
from torch.profiler import profile, ProfilerActivity
torch.set_num_threads(1)
tree=te.ModeTree.grid(32,32,geometry="square")
m=te.models.ConvAC(tree,2,16,outputs=2,device="cpu")
x=torch.randint(0,2,(64,32,32)); y=torch.randint(0,2,(64,))
opt=torch.optim.Adam(m.parameters())
def step():
    loss=torch.nn.functional.cross_entropy(m(x),y); opt.zero_grad(); loss.backward(); opt.step()
for _ in range(5): step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(10): step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
