"""Hand-written article pairs for the story clustering thresholds (fictional events, realistic newsroom style).

``SAME_STORY``: one event reported by two outlets in their own words (sharing names, figures and often a quote).
``DIFFERENT_STORY``: pairs that must stay apart: the same topic but different events, and one outlet's unrelated
articles that share its boilerplate.
"""

from __future__ import annotations

QUAKE_A = """Strong earthquake shakes eastern Taiwan, toppling buildings in Hualien
A magnitude 6.8 earthquake struck off the eastern coast of Taiwan early on Wednesday, collapsing at least two
buildings in the city of Hualien and cutting power to more than 90,000 homes, officials said.
The quake hit at 7:58 a.m. local time at a depth of 15 kilometres, about 25 kilometres south of Hualien, the
Central Weather Administration said. Tremors were felt across the island, including in the capital Taipei,
where the metro briefly halted service.
Four people were confirmed dead and 57 injured, the National Fire Agency said, adding that rescuers were still
searching a partly collapsed residential block near Hualien railway station.
"We are racing against time to reach people trapped in the rubble," Hualien county magistrate Hsu Chen-wei
told reporters. Japan's Meteorological Agency briefly issued a tsunami advisory for Okinawa's outlying islands
before lifting it an hour later.
Taiwan's semiconductor maker TSMC said it had evacuated some fabrication plants as a precaution."""

QUAKE_B = """Hualien: four dead as 6.8-magnitude quake hits Taiwan's east coast
At least four people have been killed and dozens hurt after a 6.8-magnitude earthquake struck near Hualien
on Taiwan's east coast, authorities say.
The tremor, which came shortly before 8am local time, brought down two buildings in Hualien and left about
90,000 households without electricity. Its epicentre was 25km south of the city at a shallow depth of 15km,
according to Taiwan's Central Weather Administration.
The National Fire Agency put the number of injured at 57. Rescue teams are working at a residential building
near Hualien railway station that partially collapsed.
"We are racing against time to reach people trapped in the rubble," said Hualien county magistrate Hsu
Chen-wei. Services on the Taipei metro were suspended for several minutes as the shaking reached the capital.
A tsunami advisory issued by Japan for islands off Okinawa was lifted after about an hour. Chipmaker TSMC
evacuated staff from some plants as a precaution."""

ECB_A = """ECB cuts interest rates for third time as inflation cools
The European Central Bank lowered its key deposit rate by a quarter point to 3.25% on Thursday, its third cut
this year, as inflation in the euro zone eased closer to its 2% target and the economy showed signs of stalling.
ECB President Christine Lagarde said policymakers were not pre-committing to any particular rate path. "The
disinflationary process is well on track," Lagarde told a news conference in Frankfurt.
Euro zone inflation fell to 1.8% in September, below the bank's target for the first time in more than three
years. Markets now price in another quarter-point cut in December.
The euro slipped 0.3% against the dollar after the decision."""

ECB_B = """European Central Bank lowers deposit rate to 3.25%
The ECB has cut its deposit rate to 3.25% from 3.5%, the third reduction of 2024, citing easing price pressures
across the 20 countries that use the euro.
"The disinflationary process is well on track," ECB President Christine Lagarde said in Frankfurt, while
stressing that the Governing Council was not pre-committing to a particular rate path.
Inflation in the euro zone dropped to 1.8% in September, under the central bank's 2% goal for the first time
since 2021. Investors expect a further quarter-point cut in December, and the euro fell 0.3% versus the dollar
following the announcement."""

MERGER_A = """Nordwind Air agrees to buy budget rival SkyLark in 1.2 billion euro deal
German carrier Nordwind Air said on Monday it had agreed to acquire low-cost rival SkyLark for 1.2 billion
euros in cash, creating Europe's fourth-largest airline group by passenger numbers.
The deal, which still needs approval from the European Commission, would give Nordwind 140 aircraft and
slots at busy airports in Berlin, Vienna and Milan. Nordwind chief executive Katrin Vogel said the combined
company would keep the SkyLark brand for leisure routes.
"This is about scale in a market where scale decides who survives," Vogel said on a call with analysts.
SkyLark shares jumped 38% in Frankfurt trading, while Nordwind's rose 4%. Unions representing SkyLark pilots
said they would seek guarantees on jobs."""

MERGER_B = """SkyLark shares soar on Nordwind takeover
Shares in SkyLark rose 38% after Nordwind Air agreed a 1.2 billion euro cash takeover of the budget airline,
a deal that would create Europe's fourth-biggest airline group.
Nordwind chief executive Katrin Vogel told analysts: "This is about scale in a market where scale decides who
survives." She said the SkyLark brand would be kept for leisure routes.
The combined group would operate 140 aircraft with slots in Berlin, Vienna and Milan. The takeover requires
clearance from the European Commission. Pilot unions at SkyLark said they wanted job guarantees, and Nordwind
shares closed 4% higher."""

# Syndicated wire copy: the second outlet trims and retitles it.
WIRE_A = """Wildfire forces evacuation of 3,000 residents near Marseille
MARSEILLE, France (AP) — A wildfire fanned by strong winds forced the evacuation of about 3,000 residents from
villages north of Marseille on Saturday, as more than 600 firefighters backed by water-bombing planes battled
the blaze, officials said.
The fire broke out in the early afternoon near the village of Les Pennes-Mirabeau and had burned about 800
hectares (nearly 2,000 acres) of scrubland and pine forest by evening, the regional fire service said.
Four firefighters suffered minor injuries. No residents were hurt.
Interior Minister Laurent Duval said on social media that the Mistral wind was making the fight "particularly
difficult" and urged people to follow evacuation orders. A motorway linking Marseille to Aix-en-Provence was
closed in both directions and some train services were suspended."""

WIRE_B = """France: 3,000 evacuated as wildfire burns near Marseille
MARSEILLE, France (AP) — A wildfire fanned by strong winds forced the evacuation of about 3,000 residents from
villages north of Marseille on Saturday, as more than 600 firefighters and water-bombing planes battled the
blaze.
The fire started near the village of Les Pennes-Mirabeau and had burned about 800 hectares of scrubland and
pine forest by evening, according to the regional fire service. Four firefighters were slightly injured.
Interior Minister Laurent Duval said the Mistral wind made the fight "particularly difficult". The motorway
between Marseille and Aix-en-Provence was closed."""

FINAL_A = """Rovers stun City 3-2 with stoppage-time winner to reach cup final
Blackwood Rovers reached their first cup final in 41 years after Jamie Okafor's header in the third minute of
stoppage time sealed a 3-2 win over Castleford City at Wembley on Sunday.
City had come from 2-0 down through goals from Luca Bianchi and a penalty by captain Tom Reyes, but Okafor
rose highest to meet Sam Doyle's corner. "I just closed my eyes and went for it," Okafor said.
Rovers manager Helen Marsh called it the best day of her career. They will face holders Ashford United in the
final on May 24."""

FINAL_B = """Okafor header sends Blackwood Rovers into cup final
Jamie Okafor scored deep into stoppage time as Blackwood Rovers beat Castleford City 3-2 in Sunday's semi-final
at Wembley to reach the final for the first time since 1983.
Rovers led 2-0 before Luca Bianchi pulled one back and Tom Reyes levelled from the penalty spot. Okafor then
headed in Sam Doyle's corner. "I just closed my eyes and went for it," the striker said afterwards.
Manager Helen Marsh's side meet holders Ashford United on May 24."""

# Same topic, different events.
QUAKE_OTHER = """Earthquake of magnitude 5.9 hits central Japan, no tsunami risk
An earthquake of magnitude 5.9 struck Ishikawa prefecture in central Japan on Friday evening, damaging roads
and several old wooden houses, the Japan Meteorological Agency said. There was no risk of a tsunami.
Three people suffered minor injuries in the city of Wajima, local officials said, and about 2,000 homes briefly
lost power. Bullet train services on the Hokuriku line were halted for inspections.
"Please stay away from damaged buildings as aftershocks are likely," an agency official told a news conference.
The region is still rebuilding from a powerful quake that hit the Noto peninsula last year."""

ECB_OTHER = """ECB's Lagarde says climate risks must shape bank supervision
European Central Bank President Christine Lagarde said on Tuesday that banks in the euro zone were still too slow
to account for climate risks, and that supervisors would start imposing penalties on lenders that miss
deadlines.
Speaking at a conference in Brussels, Lagarde said extreme weather had already caused billions of euros of
losses across the region. "Climate change is a financial risk, not a distant one," she said.
The ECB has given banks until the end of the year to fully integrate climate and environmental risks into their
risk management. Several lenders have already been fined for failing to meet earlier milestones."""

UKRAINE_A = """Russian drones hit Odesa port, damaging grain terminal
Russia launched a wave of drones at the Ukrainian port city of Odesa overnight, damaging a grain terminal and
injuring two workers, regional governor Oleh Kiper said on Thursday.
Ukraine's air force said it had shot down 31 of 38 drones launched from Russia and occupied Crimea. Debris
started a fire at the port that was extinguished by morning, Kiper said.
"The enemy is again targeting the food security of the world," he wrote on Telegram. Odesa's ports handle most
of Ukraine's grain exports."""

UKRAINE_B = """Ukraine and Russia agree to new prisoner exchange after Istanbul talks
Ukraine and Russia agreed to exchange 150 prisoners of war each after a day of talks in Istanbul mediated by
Turkey, Ukrainian officials said on Friday.
The Ukrainian delegation, led by Defence Minister Rustem Umerov, also proposed a meeting between presidents
Volodymyr Zelensky and Vladimir Putin, which the Kremlin said was premature.
"We are ready for any format that brings a real ceasefire," Umerov told reporters. Turkish Foreign Minister
Hakan Fidan said both sides had agreed to continue talks at a technical level next month."""

# One outlet's boilerplate around two unrelated short items (as a feed summary plus page chrome often looks).
BOILER = """Sign up for our free morning newsletter and get the top stories delivered to your inbox every day.
Follow The Daily Courier on Facebook, X and Instagram. Have a news tip? Contact our newsroom at any time.
Our journalism is supported by readers like you. Subscribe today for unlimited digital access.
Copyright 2024 The Daily Courier Media Group. All rights reserved. This material may not be published,
broadcast, rewritten or redistributed."""

COURIER_A = f"""City council approves new bike lanes on Harbor Street
The council voted 7-2 to add protected bike lanes on Harbor Street starting next spring.
{BOILER}"""

COURIER_B = f"""Local bakery wins national sourdough award
Maple & Rye bakery took first place in the national sourdough championship in Leeds.
{BOILER}"""

SAME_STORY: list[tuple[str, str, str]] = [
    ("taiwan quake", QUAKE_A, QUAKE_B),
    ("ecb rate cut", ECB_A, ECB_B),
    ("airline merger", MERGER_A, MERGER_B),
    ("syndicated wildfire", WIRE_A, WIRE_B),
    ("cup semi-final", FINAL_A, FINAL_B),
]

DIFFERENT_STORY: list[tuple[str, str, str]] = [
    ("two earthquakes", QUAKE_A, QUAKE_OTHER),
    ("ecb rates vs ecb climate", ECB_A, ECB_OTHER),
    ("two ukraine events", UKRAINE_A, UKRAINE_B),
    ("merger vs cup final", MERGER_A, FINAL_A),
    ("ecb climate vs two quakes", ECB_OTHER, QUAKE_B),
]

SAME_OUTLET_BOILERPLATE: tuple[str, str] = (COURIER_A, COURIER_B)
